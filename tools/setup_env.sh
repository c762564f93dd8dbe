#!/usr/bin/env bash
# Idempotent environment bootstrap for the PiMAE project.
#
#   bash tools/setup_env.sh          # creates / completes ./.venv, then returns in seconds next time
#
# Steps (each skipped when already satisfied):
#   1. a virtualenv in the clone (PIMAE_VENV overrides the location);
#   2. a torch / torchvision pair that works: an existing working pair is kept, otherwise
#      torch==2.13.0 + torchvision==0.28.0 from the default index (projects/pimae/docs/environment.md, 'torch and torchvision');
#   3. mmcv==2.1.0 with ops: built once from the sdist and kept as a wheel in a cache outside the
#      clone, keyed by torch version and CUDA / CPU (PIMAE_CACHE_DIR overrides the location);
#      with nvcc and a visible GPU the CUDA ops are built too (docs/environment.md, 'Building mmcv');
#   4. the pinned rest (requirements.txt) and this project, editable.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PIMAE_VENV:-$ROOT/.venv}"
CACHE="${PIMAE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pimae}"
TORCH_VERSION="2.13.0"
TORCHVISION_VERSION="0.28.0"
MMCV_VERSION="2.1.0"
log() { echo "[setup_env] $*"; }
start=$(date +%s)

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

# The stamp records everything the installed state depends on; when it matches and the stack
# imports, there is nothing to do.
stamp_now() {
  cat "$ROOT/requirements.txt" "$ROOT/setup.cfg" "$ROOT/setup.py" "$ROOT/tools/setup_env.sh" \
    | sha256sum | cut -d' ' -f1
}
STAMP_FILE="$VENV/.pimae_setup_stamp"
if [ -f "$STAMP_FILE" ] && [ "$(cat "$STAMP_FILE")" = "$(stamp_now)" ] \
  && "$PY" -c "import torchvision.ops, mmcv.ops, mmdet3d, mmpretrain, projects.pimae.pimae" 2>/dev/null; then
  log "environment up to date ($VENV), nothing to do ($(( $(date +%s) - start )) s)"
  exit 0
fi

# 2. torch / torchvision pair
torch_pair_ok() {
  "$PY" - <<'PY' 2>/dev/null
import torch, torchvision
from torchvision.ops import nms
nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
PY
}
if torch_pair_ok; then
  log "keeping working torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
  log "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION (default index, see projects/pimae/docs/environment.md)"
  # The machine's find-links folder holds a CPU-only torch that no torchvision wheel pairs with.
  env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "${PIP[@]}" install \
    "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
  torch_pair_ok || { log "ERROR: torch/torchvision still do not import together"; exit 1; }
fi

# 3. mmcv with ops, from the wheel cache
TORCH_KEY=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
if command -v nvcc >/dev/null 2>&1 && "$PY" -c 'import torch,sys; sys.exit(not torch.cuda.is_available())'; then
  DEVICE_KEY="cuda$("$PY" -c 'import torch; print(torch.version.cuda)')"
else
  DEVICE_KEY="cpu"
fi
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_KEY-$DEVICE_KEY"
mmcv_ok() {
  "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null
}
if ! mmcv_ok; then
  if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    log "building mmcv==$MMCV_VERSION with ops for torch $TORCH_KEY ($DEVICE_KEY); ~20 min on 2 cores, once"
    mkdir -p "$WHEEL_DIR"
    "${PIP[@]}" install "setuptools<70" wheel ninja
    build_env=(MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}")
    if [ "$DEVICE_KEY" != cpu ]; then build_env+=(FORCE_CUDA=1); fi
    tmp_wheels=$(mktemp -d)
    env "${build_env[@]}" "${PIP[@]}" wheel --no-build-isolation --no-deps \
      "mmcv==$MMCV_VERSION" -w "$tmp_wheels"
    mv "$tmp_wheels"/mmcv-*.whl "$WHEEL_DIR"/   # only a finished wheel enters the cache
    rm -rf "$tmp_wheels"
    "${PIP[@]}" install "setuptools>=77,<81"
  else
    log "using cached mmcv wheel from $WHEEL_DIR"
  fi
fi

# 4. the pinned rest and the project itself (editable: `import projects.pimae.pimae` works anywhere).
# setuptools stays below 81: later releases drop `pkg_resources`, which mmengine's `mmdet3d::` /
# `mmpretrain::` config inheritance imports (requirements.txt pins it too).
"${PIP[@]}" install --find-links "$WHEEL_DIR" -r "$ROOT/requirements.txt"
"${PIP[@]}" install --no-deps --no-build-isolation -e "$ROOT" --config-settings editable_mode=compat
"$PY" -c "import torchvision.ops, mmcv.ops, mmdet3d, mmpretrain, projects.pimae.pimae"
stamp_now > "$STAMP_FILE"
log "environment ready in $VENV ($(( $(date +%s) - start )) s)"

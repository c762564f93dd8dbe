#!/usr/bin/env bash
# Idempotent environment bootstrap for the PiMAE project.
#
#   bash tools/setup_env.sh                        # creates / completes ./.venv, then returns in seconds next time
#   bash tools/setup_env.sh --mmcv-wheel PATH      # install a prebuilt mmcv 2.1.0 wheel instead of building one
#   PIMAE_MMCV_WHEEL=PATH bash tools/setup_env.sh  # the same through the environment
#   PIMAE_SETUP_DRY_RUN=1 bash tools/setup_env.sh ...  # print what would be installed, change nothing
#
# Steps (each skipped when already satisfied):
#   1. a virtualenv in the clone (PIMAE_VENV overrides the location);
#   2. a torch / torchvision pair that works: an existing working pair is kept, otherwise
#      torch==2.13.0 + torchvision==0.28.0 from the default index (projects/pimae/docs/environment.md, 'torch and torchvision');
#   3. mmcv==2.1.0 with ops, either
#      - a prebuilt wheel given with --mmcv-wheel PATH or PIMAE_MMCV_WHEEL=PATH: PATH is one
#        mmcv-2.1.0-*.whl file, or a directory of wheels from which pip picks the mmcv 2.1.0 wheel
#        that fits this Python (e.g. a CUDA build made on another machine, or a CI artefact). The
#        wheel must be built for the torch version of the venv: mmcv's compiled ops are tied to it,
#        and the script stops with an error if `import mmcv.ops` fails after the install. It is
#        installed again only when the file(s) change (their sha256 is recorded in the venv);
#      - otherwise built once from the sdist and kept as a wheel in a cache outside the
#        clone, keyed by torch version and CUDA / CPU (PIMAE_CACHE_DIR overrides the location);
#        with nvcc and a visible GPU the CUDA ops are built too (docs/environment.md, 'Building mmcv');
#   4. the pinned rest (requirements.txt) and this project, editable.
# With PIMAE_SETUP_DRY_RUN=1 the commands that would change something (venv creation, pip
# installs, the cache and stamp writes) are printed with a leading '+ ' instead of run; the
# read-only checks still run against the venv.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PIMAE_VENV:-$ROOT/.venv}"
CACHE="${PIMAE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pimae}"
TORCH_VERSION="2.13.0"
TORCHVISION_VERSION="0.28.0"
MMCV_VERSION="2.1.0"
MMCV_WHEEL="${PIMAE_MMCV_WHEEL:-}"
DRY_RUN="${PIMAE_SETUP_DRY_RUN:-0}"
log() { echo "[setup_env] $*"; }
die() { echo "[setup_env] ERROR: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --mmcv-wheel)
      [ $# -ge 2 ] || die "--mmcv-wheel needs a path (an mmcv-$MMCV_VERSION-*.whl file or a directory of wheels)"
      MMCV_WHEEL="$2"; shift 2 ;;
    --mmcv-wheel=*) MMCV_WHEEL="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

# run CMD...: run a command that changes something, or print it in a dry run.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    echo "+ $*"
  else
    "$@"
  fi
}
start=$(date +%s)

# The prebuilt mmcv wheel, checked before anything is installed. MMCV_WHEEL_ID identifies its
# content (sha256 of the file, or of every mmcv wheel in the directory).
MMCV_WHEEL_ID=""
MMCV_WHEEL_ARGS=()
if [ -n "$MMCV_WHEEL" ]; then
  if [ -f "$MMCV_WHEEL" ]; then
    case "$(basename "$MMCV_WHEEL")" in
      mmcv-"$MMCV_VERSION"-*.whl) ;;
      *) die "--mmcv-wheel / PIMAE_MMCV_WHEEL: '$MMCV_WHEEL' is not an mmcv-$MMCV_VERSION-*.whl file (mmdet 3.2 and mmdet3d 1.4 need mmcv $MMCV_VERSION)" ;;
    esac
    MMCV_WHEEL="$(cd "$(dirname "$MMCV_WHEEL")" && pwd)/$(basename "$MMCV_WHEEL")"
    MMCV_WHEEL_ID=$(sha256sum "$MMCV_WHEEL" | cut -d' ' -f1)
    MMCV_WHEEL_ARGS=("$MMCV_WHEEL")
  elif [ -d "$MMCV_WHEEL" ]; then
    MMCV_WHEEL="$(cd "$MMCV_WHEEL" && pwd)"
    shopt -s nullglob
    wheels=("$MMCV_WHEEL"/mmcv-"$MMCV_VERSION"-*.whl)
    shopt -u nullglob
    [ ${#wheels[@]} -gt 0 ] || die "--mmcv-wheel / PIMAE_MMCV_WHEEL: the directory '$MMCV_WHEEL' holds no mmcv-$MMCV_VERSION-*.whl"
    MMCV_WHEEL_ID=$(sha256sum "${wheels[@]}" | cut -d' ' -f1 | sha256sum | cut -d' ' -f1)
    MMCV_WHEEL_ARGS=(--no-index --find-links "$MMCV_WHEEL" "mmcv==$MMCV_VERSION")
  else
    die "--mmcv-wheel / PIMAE_MMCV_WHEEL: '$MMCV_WHEEL' does not exist (give an mmcv-$MMCV_VERSION-*.whl file or a directory of wheels)"
  fi
  log "prebuilt mmcv wheel: $MMCV_WHEEL"
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV"
  run python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

# The stamp records everything the installed state depends on; when it matches and the stack
# imports, there is nothing to do.
stamp_now() {
  { cat "$ROOT/requirements.txt" "$ROOT/setup.cfg" "$ROOT/setup.py" "$ROOT/tools/setup_env.sh"
    echo "mmcv wheel: $MMCV_WHEEL_ID"; } | sha256sum | cut -d' ' -f1
}
STAMP_FILE="$VENV/.pimae_setup_stamp"
WHEEL_STAMP_FILE="$VENV/.pimae_mmcv_wheel"
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
  run env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "${PIP[@]}" install \
    "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
  [ "$DRY_RUN" = 1 ] || torch_pair_ok || { log "ERROR: torch/torchvision still do not import together"; exit 1; }
fi

# 3. mmcv with ops: the prebuilt wheel, or one from the wheel cache
TORCH_KEY=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null \
  || echo "$TORCH_VERSION")
if command -v nvcc >/dev/null 2>&1 && "$PY" -c 'import torch,sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
  DEVICE_KEY="cuda$("$PY" -c 'import torch; print(torch.version.cuda)')"
else
  DEVICE_KEY="cpu"
fi
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_KEY-$DEVICE_KEY"
FIND_LINKS=(--find-links "$WHEEL_DIR")
mmcv_ok() {
  "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null
}
mmcv_cuda_report() {
  "$PY" -c "from mmcv.ops import get_compiling_cuda_version as v; print(v())" 2>/dev/null || echo "?"
}
if [ -n "$MMCV_WHEEL" ]; then
  FIND_LINKS=(--find-links "$(if [ -d "$MMCV_WHEEL" ]; then echo "$MMCV_WHEEL"; else dirname "$MMCV_WHEEL"; fi)")
  if mmcv_ok && [ -f "$WHEEL_STAMP_FILE" ] && [ "$(cat "$WHEEL_STAMP_FILE")" = "$MMCV_WHEEL_ID" ]; then
    log "prebuilt mmcv wheel already installed"
  else
    log "installing the prebuilt mmcv wheel (no build)"
    run "${PIP[@]}" install --no-deps --force-reinstall "${MMCV_WHEEL_ARGS[@]}"
    if [ "$DRY_RUN" != 1 ]; then
      mmcv_ok || { log "ERROR: mmcv.ops does not import after installing $MMCV_WHEEL: the wheel must be mmcv $MMCV_VERSION built for torch $TORCH_KEY and this Python (its compiled ops are tied to both)"; exit 1; }
      echo "$MMCV_WHEEL_ID" > "$WHEEL_STAMP_FILE"
      log "mmcv $MMCV_VERSION installed from the wheel; its ops were compiled with CUDA: $(mmcv_cuda_report)"
    fi
  fi
elif ! mmcv_ok; then
  if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    log "building mmcv==$MMCV_VERSION with ops for torch $TORCH_KEY ($DEVICE_KEY); ~20 min on 2 cores, once"
    run mkdir -p "$WHEEL_DIR"
    run "${PIP[@]}" install "setuptools<70" wheel ninja
    build_env=(MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}")
    if [ "$DEVICE_KEY" != cpu ]; then build_env+=(FORCE_CUDA=1); fi
    if [ "$DRY_RUN" = 1 ]; then tmp_wheels="${TMPDIR:-/tmp}/tmp.BUILD"; else tmp_wheels=$(mktemp -d); fi
    run env "${build_env[@]}" "${PIP[@]}" wheel --no-build-isolation --no-deps \
      "mmcv==$MMCV_VERSION" -w "$tmp_wheels"
    run mv "$tmp_wheels"/mmcv-*.whl "$WHEEL_DIR"/   # only a finished wheel enters the cache
    run rm -rf "$tmp_wheels"
    run "${PIP[@]}" install "setuptools>=77,<81"
  else
    log "using cached mmcv wheel from $WHEEL_DIR"
  fi
fi

# 4. the pinned rest and the project itself (editable: `import projects.pimae.pimae` works anywhere).
# setuptools stays below 81: later releases drop `pkg_resources`, which mmengine's `mmdet3d::` /
# `mmpretrain::` config inheritance imports (requirements.txt pins it too).
run "${PIP[@]}" install "${FIND_LINKS[@]}" -r "$ROOT/requirements.txt"
run "${PIP[@]}" install --no-deps --no-build-isolation -e "$ROOT" --config-settings editable_mode=compat
if [ "$DRY_RUN" = 1 ]; then
  log "dry run: nothing was changed"
  exit 0
fi
"$PY" -c "import torchvision.ops, mmcv.ops, mmdet3d, mmpretrain, projects.pimae.pimae"
stamp_now > "$STAMP_FILE"
log "environment ready in $VENV ($(( $(date +%s) - start )) s)"

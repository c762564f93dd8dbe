#!/usr/bin/env bash
# The README's main command: from nothing, install the environment, generate
# synthetic SUN RGB-D scenes, pre-train the default-size PiMAE on CPU for a few
# epochs, and draw reconstructions of the final checkpoint.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/tools/setup_env.sh"
PY="${PIMAE_VENV:-$ROOT/.venv}/bin/python"
cd "$ROOT"
DATA="data/sunrgbd_demo"
WORK_DIR="work_dirs/pimae_demo"
CONFIG="configs/pimae/pretrain_demo.py"
# Arguments go to tools/train.py; a --work-dir among them is where the
# pictures are drawn from too.
args=("$@")
for i in "${!args[@]}"; do
  case "${args[$i]}" in
    --work-dir=*) WORK_DIR="${args[$i]#--work-dir=}" ;;
    --work-dir) WORK_DIR="${args[$((i + 1))]:-}" ;;
  esac
done
if [ -z "$WORK_DIR" ]; then
  echo "demo.sh: --work-dir needs a directory" >&2
  exit 2
fi

if [ ! -f "$DATA/sunrgbd_infos_train.pkl" ]; then
  "$PY" tools/create_demo_data.py --out-dir "$DATA" --num-scenes 64 --seed 0
fi
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
if [ ! -f "$WORK_DIR/last_checkpoint" ]; then
  echo "demo.sh: training wrote no checkpoint into $WORK_DIR (see its log)" >&2
  exit 1
fi
CKPT="$WORK_DIR/$(xargs basename < "$WORK_DIR/last_checkpoint")"
"$PY" tools/visualize_reconstruction.py "$CONFIG" "$CKPT" \
  --out-dir "$WORK_DIR/reconstructions" --num-samples 4
echo
echo "PiMAE demo finished:"
echo "  checkpoints:      $WORK_DIR/epoch_*.pth (latest: $CKPT)"
echo "  training log:     $WORK_DIR/<timestamp>/<timestamp>.log"
echo "  pictures (train): $WORK_DIR/<timestamp>/vis_data/vis_image/"
echo "  reconstructions:  $WORK_DIR/reconstructions/"

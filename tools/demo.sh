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

if [ ! -f "$DATA/sunrgbd_infos_train.pkl" ]; then
  "$PY" tools/create_demo_data.py --out-dir "$DATA" --num-scenes 64 --seed 0
fi
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT="$WORK_DIR/$(cat "$WORK_DIR/last_checkpoint" | xargs basename)"
"$PY" tools/visualize_reconstruction.py "$CONFIG" "$CKPT" \
  --out-dir "$WORK_DIR/reconstructions" --num-samples 4
echo
echo "PiMAE demo finished:"
echo "  checkpoints:      $ROOT/$WORK_DIR/epoch_*.pth (latest: $CKPT)"
echo "  training log:     $ROOT/$WORK_DIR/<timestamp>/<timestamp>.log"
echo "  pictures (train): $ROOT/$WORK_DIR/<timestamp>/vis_data/vis_image/"
echo "  reconstructions:  $ROOT/$WORK_DIR/reconstructions/"

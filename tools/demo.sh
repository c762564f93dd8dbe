#!/usr/bin/env bash
# The README's main command: install / check the environment, then run the demo job.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/tools/setup_env.sh"
PY="${PIMAE_VENV:-$ROOT/.venv}/bin/python"
cd "$ROOT"
WORK_DIR="$ROOT/work_dirs/demo_toy"
"$PY" tools/train.py tests/data/configs/toy_regression.py --work-dir "$WORK_DIR"
echo "demo finished: checkpoints and logs in $WORK_DIR"

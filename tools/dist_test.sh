#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
# Multi-node: NNODES, NODE_RANK, PORT, MASTER_ADDR. Without CUDA the processes run on CPU with gloo.
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# The project's virtualenv (tools/setup_env.sh) when there is one, else `python` on PATH.
VENV_PYTHON="${PIMAE_VENV:-$ROOT/.venv}/bin/python"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$VENV_PYTHON" ]; then PYTHON="$VENV_PYTHON"; else PYTHON=python; fi
fi

# One quick check (config, checkpoint, options, data files) before starting
# the processes.
PYTHONPATH="$ROOT":$PYTHONPATH "$PYTHON" "$ROOT/tools/test.py" $CONFIG $CHECKPOINT ${@:4} --preflight || exit $?

PYTHONPATH="$ROOT":$PYTHONPATH \
$PYTHON -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    "$ROOT/tools/test.py" \
    $CONFIG \
    $CHECKPOINT \
    --launcher pytorch ${@:4}

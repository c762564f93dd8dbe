#!/usr/bin/env bash
# The README's test command: install / check the environment, then run the whole test suite.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
# pytest exits 5 when it collects no test: that is a failure here too.
# Two pytest-xdist workers (PIMAE_TEST_WORKERS, 0 runs in one process), each
# test file on one worker (its module fixtures are built once), one BLAS
# thread per worker: the suite takes half the time of one process on 2 cores.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec "${PIMAE_VENV:-$ROOT/.venv}/bin/python" -m pytest tests -q \
  -n "${PIMAE_TEST_WORKERS:-2}" --dist loadfile "$@"

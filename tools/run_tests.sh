#!/usr/bin/env bash
# The README's test command: install / check the environment, then run the whole test suite.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
# pytest exits 5 when it collects no test: that is a failure here too.
exec "${PIMAE_VENV:-$ROOT/.venv}/bin/python" -m pytest tests -q "$@"

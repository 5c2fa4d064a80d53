#!/usr/bin/env bash
# Run the core benchmark on asyncio and on uvloop; print one Markdown table.
# Extra arguments go to bench/core.py (e.g. --quick, --json results.json).
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv-3.11/bin/python}"
exec "$python" bench/core.py --all "$@"

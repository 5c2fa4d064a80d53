#!/usr/bin/env bash
# Set up and run every check: ruff, mypy --strict, and the test suite
# (doctests included) on Python 3.11 and 3.13.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for ver in ${OTP_PYTHONS:-3.11 3.13}; do
    venv=$(scripts/venv.sh "$ver")
    echo "=== Python $ver ==="
    if [ "$ver" = "3.11" ]; then
        "$venv/bin/ruff" check src tests examples bench
        "$venv/bin/ruff" format --check src tests examples bench
        "$venv/bin/mypy"
    fi
    "$venv/bin/python" -m pytest -q "$@" || status=$?
done
exit $status

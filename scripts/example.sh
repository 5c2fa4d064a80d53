#!/usr/bin/env bash
# Set up and run the example application.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(scripts/venv.sh 3.11)
exec "$venv/bin/python" examples/app.py "$@"

#!/usr/bin/env bash
# Set up and run the example application as the node app@127.0.0.1, with
# its live dashboard on http://127.0.0.1:8000/, until Ctrl-C. Arguments are
# passed on and override these (e.g. --seconds 30, --observer 8001).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(scripts/venv.sh 3.11)
exec "$venv/bin/python" examples/app.py --name app@127.0.0.1 --observer 8000 --seconds 0 "$@"

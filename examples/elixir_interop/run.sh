#!/usr/bin/env bash
# Run the example in one command: start the Python node (model.py), wait until
# it prints "model: ready", run the Elixir client (client.exs) against it, then
# stop the Python node with SIGTERM, which shuts it down gracefully.
#
#   examples/elixir_interop/run.sh
#
# Needs `elixir` on the PATH. The Python is $PYTHON, else the project's
# .venv-3.11 (scripts/example.sh creates it), else python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$root/.venv-3.11/bin/python" ]; then
        python="$root/.venv-3.11/bin/python"
    else
        python=python3
    fi
fi
command -v elixir >/dev/null || { echo "run.sh: elixir is not on the PATH" >&2; exit 1; }

# The Python node's output comes through a pipe, so that we can wait for its
# ready line; it is then relayed to our output while the client runs.
tmp="$(mktemp -d)"
mkfifo "$tmp/model.out"
PYTHONUNBUFFERED=1 "$python" "$here/model.py" >"$tmp/model.out" &
model=$!
relay=""
cleanup() {
    kill -TERM "$model" 2>/dev/null || true
    wait "$model" 2>/dev/null || true
    if [ -n "$relay" ]; then wait "$relay" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
exec 3<"$tmp/model.out"

while :; do
    # -t 60: a bound against a hang, not a delay; the line usually comes in well under 1 s
    if ! IFS= read -r -t 60 line <&3; then
        echo "run.sh: the Python node exited or hung before it was ready" >&2
        exit 1
    fi
    echo "$line"
    [ "$line" = "model: ready" ] && break
done
cat <&3 &
relay=$!
exec 3<&-

elixir "$here/client.exs"

# SIGTERM: the node stops its processes in order; otp.run exits with status 143.
kill -TERM "$model"
status=0
wait "$model" || status=$?
wait "$relay"
relay=""
if [ "$status" -ne 143 ] && [ "$status" -ne 0 ]; then
    echo "run.sh: the Python node exited with status $status" >&2
    exit "$status"
fi
echo "the Python node stopped cleanly"

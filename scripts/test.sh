#!/usr/bin/env bash
# Set up and run every check: ruff, mypy --strict, and the test suite
# (doctests included) on Python 3.11 and 3.13, and on 3.11 once more with
# the pure-Python term codec instead of the compiled one.
set -euo pipefail
cd "$(dirname "$0")/.."
# The interoperability tests need a real Erlang and Elixir: install them
# (Debian's packages) when missing. Without them those tests are skipped,
# unless OTP_REQUIRE_ERLANG=1 (as in CI) makes them fail instead.
if ! command -v erl >/dev/null 2>&1 || ! command -v elixir >/dev/null 2>&1; then
    scripts/install-erlang.sh || echo "warning: Erlang/Elixir could not be installed; interop tests will be skipped" >&2
fi
# The dashboard's browser tests drive a real Chromium (Debian's package)
# through playwright: install it when missing. Without it those tests are
# skipped, unless OTP_REQUIRE_BROWSER=1 (as in CI) makes them fail instead.
if [ ! -x /usr/bin/chromium ] && ! command -v chromium >/dev/null 2>&1; then
    scripts/install-chromium.sh || echo "warning: Chromium could not be installed; browser tests will be skipped" >&2
fi
status=0
for ver in ${OTP_PYTHONS:-3.11 3.13}; do
    venv=$(scripts/venv.sh "$ver")
    echo "=== Python $ver ==="
    if [ "$ver" = "3.11" ]; then
        "$venv/bin/ruff" check src tests examples bench docs
        "$venv/bin/ruff" format --check src tests examples bench docs
        "$venv/bin/mypy"
        # The documentation site: built with warnings as errors, guide examples run.
        scripts/docs.sh "$venv" || status=$?
    fi
    "$venv/bin/python" -m pytest -q "$@" || status=$?
    if [ "$ver" = "3.11" ]; then
        # Both codecs pass the whole suite: again with the pure-Python one.
        echo "=== Python $ver, pure-Python codec (OTP_PURE_PYTHON=1) ==="
        OTP_PURE_PYTHON=1 "$venv/bin/python" -m pytest -q "$@" || status=$?
    fi
done
exit $status

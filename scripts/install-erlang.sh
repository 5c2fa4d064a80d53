#!/usr/bin/env bash
# Install Erlang/OTP (erl, epmd) and Elixir from the distribution's packages
# (Debian/Ubuntu: erlang-nox, elixir) when they are missing, so that the tests
# marked `erlang` run instead of being skipped. Does nothing, and says
# nothing, when both are installed; otherwise announces each step on stderr.
# Runs as root, or through sudo when that is available.
#
#   scripts/install-erlang.sh && OTP_REQUIRE_ERLANG=1 scripts/test.sh
set -euo pipefail
# shellcheck source=scripts/apt-install.sh
source "$(dirname "$0")/apt-install.sh"

say() {
    echo "install-erlang.sh: $*" >&2
}

fail() {
    say "$*"
    exit 1
}

packages=()
if ! command -v erl >/dev/null 2>&1 || ! command -v epmd >/dev/null 2>&1; then
    packages+=(erlang-nox)
fi
if ! command -v elixir >/dev/null 2>&1; then
    packages+=(elixir)
fi

if [ ${#packages[@]} -gt 0 ]; then
    apt_install "Erlang/OTP 25 or newer and Elixir" "${packages[@]}"
fi

for program in erl epmd elixir; do
    command -v "$program" >/dev/null 2>&1 ||
        fail "$program is still missing after installing ${packages[*]:-nothing}"
done
otp=$(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().') ||
    fail "erl is installed but does not run"
[ "$otp" -ge 25 ] 2>/dev/null ||
    fail "Erlang/OTP $otp is too old: the distribution tests need OTP 25 or newer"
if [ ${#packages[@]} -gt 0 ]; then
    say "Erlang/OTP $otp and $(elixir --version 2>/dev/null | grep -m1 Elixir) ready"
fi

#!/usr/bin/env bash
# Install Erlang/OTP (erl, epmd) and Elixir from the distribution's packages
# (Debian/Ubuntu: erlang-nox, elixir) when they are missing, so that the tests
# marked `erlang` run instead of being skipped. Does nothing, and says
# nothing, when both are installed; otherwise announces each step on stderr.
# Runs as root, or through sudo when that is available.
#
#   scripts/install-erlang.sh && OTP_REQUIRE_ERLANG=1 scripts/test.sh
set -euo pipefail

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
    command -v apt-get >/dev/null 2>&1 ||
        fail "apt-get not found: install Erlang/OTP 25 or newer and Elixir with this system's package manager (missing: ${packages[*]})"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 ||
            fail "installing ${packages[*]} needs root: run this script as root"
        sudo=(sudo)
    fi
    say "updating the package lists (apt-get update)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
        fail "apt-get update failed: check the network and the apt sources"
    say "installing ${packages[*]} (apt-get install)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null ||
        fail "apt-get install ${packages[*]} failed (see the messages above)"
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

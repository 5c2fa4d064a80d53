#!/usr/bin/env bash
# Install Chromium from the distribution's packages (Debian: chromium) when
# it is missing, so that the tests marked `browser` (the dashboard driven by
# a real browser through playwright) run instead of being skipped. Does
# nothing, and says nothing, when /usr/bin/chromium or `chromium` on the
# PATH is there; otherwise announces each step on stderr. Runs as root, or
# through sudo when that is available. (The tests launch this Chromium:
# `playwright install`, which downloads a browser of its own, is not needed.)
#
#   scripts/install-chromium.sh && OTP_REQUIRE_BROWSER=1 scripts/test.sh
set -euo pipefail

say() {
    echo "install-chromium.sh: $*" >&2
}

fail() {
    say "$*"
    exit 1
}

installed() {
    [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1
}

if installed; then
    exit 0
fi

command -v apt-get >/dev/null 2>&1 ||
    fail "apt-get not found: install Chromium with this system's package manager, as /usr/bin/chromium or as 'chromium' on the PATH"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
        fail "installing chromium needs root: run this script as root"
    sudo=(sudo)
fi
say "updating the package lists (apt-get update)"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
    fail "apt-get update failed: check the network and the apt sources"
say "installing chromium (apt-get install)"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium >/dev/null ||
    fail "apt-get install chromium failed (see the messages above)"

installed ||
    fail "chromium is still missing after installing it: no /usr/bin/chromium and no 'chromium' on the PATH"
chromium=/usr/bin/chromium
[ -x "$chromium" ] || chromium=$(command -v chromium)
version=$("$chromium" --headless --no-sandbox --version 2>/dev/null) ||
    fail "$chromium is installed but does not run"
say "$version ready"

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
# shellcheck source=scripts/apt-install.sh
source "$(dirname "$0")/apt-install.sh"

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

apt_install "Chromium, as /usr/bin/chromium or as 'chromium' on the PATH," chromium

installed ||
    fail "chromium is still missing after installing it: no /usr/bin/chromium and no 'chromium' on the PATH"
chromium=/usr/bin/chromium
[ -x "$chromium" ] || chromium=$(command -v chromium)
version=$("$chromium" --headless --no-sandbox --version 2>/dev/null) ||
    fail "$chromium is installed but does not run"
say "$version ready"

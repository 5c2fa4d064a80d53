# Sourced by the install-*.sh scripts: `apt_install WHAT PACKAGE...` installs
# Debian/Ubuntu packages as root, or through sudo when that is available,
# announcing each step with the caller's `say` and stopping with its `fail`.
# WHAT names what is missing, for the message when apt-get is not there.

apt_install() {
    local what=$1
    shift
    command -v apt-get >/dev/null 2>&1 ||
        fail "apt-get not found: install $what with this system's package manager (missing: $*)"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 ||
            fail "installing $* needs root: run this script as root"
        sudo=(sudo)
    fi
    say "updating the package lists (apt-get update)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
        fail "apt-get update failed: check the network and the apt sources"
    say "installing $* (apt-get install)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
        fail "apt-get install $* failed (see the messages above)"
}

#!/usr/bin/env bash
# Create (or reuse) a virtual environment for one Python version and install
# the project into it with its development extras. Prints the environment's
# path on stdout (venv=$(scripts/venv.sh 3.11)); each set-up step it takes
# is announced on stderr, and nothing is when there is nothing to do.
#   scripts/venv.sh 3.11   -> .venv-3.11
set -euo pipefail
cd "$(dirname "$0")/.."
ver="${1:-3.11}"
venv=".venv-$ver"
find_python() {
    for candidate in "python$ver" "$HOME/.pyenv/versions/$ver"*/bin/python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
           && "$candidate" -c "import sys; assert sys.version.startswith('$ver')" 2>/dev/null; then
            command -v "$candidate"; return 0
        fi
    done
    return 1
}
say() { echo "venv.sh: $*" >&2; }
if [ ! -x "$venv/bin/python" ]; then
    py=$(find_python) || { echo "Python $ver not found: install it (e.g. 'pyenv install $ver')" >&2; exit 1; }
    say "creating $venv with Python $("$py" -c 'import platform; print(platform.python_version())')"
    "$py" -m venv "$venv"
fi
stamp="$venv/.installed"
# What the install depends on: the project's metadata and the compiled codec's
# build, so that a changed C source is compiled again.
changed=""
for input in pyproject.toml setup.py src/otp/distribution/_term_c*.[ch]; do
    if [ -f "$stamp" ] && [ "$input" -nt "$stamp" ]; then
        changed="${changed:+$changed, }$input"
    fi
done
if [ ! -f "$stamp" ] || [ -n "$changed" ]; then
    say "upgrading pip in $venv"
    # -qq: pip's errors only, so that each step stays one printed line.
    "$venv/bin/python" -m pip install -qq --upgrade pip >&2
    if [ -f "$stamp" ]; then
        say "$changed changed: installing otp and its development tools into $venv again"
    else
        say "installing otp and its development tools into $venv"
    fi
    "$venv/bin/python" -m pip install -qq -e ".[dev]" >&2
    touch "$stamp"
fi
echo "$venv"

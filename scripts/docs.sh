#!/usr/bin/env bash
# Build the documentation site and run every example of its guides.
#   scripts/docs.sh            with .venv-3.11 (set up by scripts/venv.sh)
#   scripts/docs.sh VENV       with the tools of another environment
# The html goes to docs/_build/html (open docs/_build/html/index.html).
# Warnings are errors (-W), so a broken docstring, a dead link between
# pages or a public name missing from the reference fails the build; then
# the doctest builder runs each guide's examples and fails on any output
# that differs from the page. Prints one line when all is well.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-$(scripts/venv.sh 3.11)}"
out=docs/_build
# Both builders share one doctree cache: the second reads nothing again.
sphinx=("$venv/bin/sphinx-build" -q -W --keep-going -d "$out/doctrees" docs)
"${sphinx[@]}" -b html "$out/html"
if ! "${sphinx[@]}" -b doctest "$out/doctest"; then
    cat "$out/doctest/output.txt" >&2
    echo "docs.sh: a guide's example did not print what its page says (above)" >&2
    exit 1
fi
summary=$(grep -E "^ *[0-9]+ tests?$" "$out/doctest/output.txt" | head -n 1 | xargs)
echo "docs: $out/html built; guide examples: $summary"

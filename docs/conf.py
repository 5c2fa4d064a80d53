"""Sphinx configuration of otp's documentation site.

Build it with `scripts/docs.sh`: the html site goes to docs/_build/html, and
the doctest builder runs every example of the guides (`testcode` blocks,
compared with the `testoutput` block under each) and fails on a mismatch.
The docstrings' own `>>>` examples are run by pytest (`--doctest-modules`),
so the doctest builder skips them here.

The pages are MyST Markdown; the API reference pages pull the docstrings in
with autodoc. The docstrings are Google style (`Args:`, `Returns:`,
`Raises:`, read by napoleon) and quote code with single backticks, which
`default_role` turns into cross-references where a target exists and into
code otherwise.
"""

from __future__ import annotations

import doctest
import sys
from importlib.metadata import version as _version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "otp"
author = "The otp authors"
copyright = "The otp authors"
release = _version("otp")
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "otp_sphinx",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "images/README*"]
# Warnings are errors (-W in scripts/docs.sh): keep the build clean.
nitpicky = False

# Markdown: ::: fenced directives, definition lists, and anchors for
# headings up to ### so that guides can link to each other's sections.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# `code` in a docstring: a link when it names a documented object,
# code otherwise (never the rST default of italics).
default_role = "otp-code-or-ref"

# autodoc: members in source order, signatures with their types.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_default_options: dict[str, Any] = {}
python_use_unqualified_type_names = True
add_module_names = True

# napoleon: Google-style sections only.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# An `Attributes:` section as a field list: properties documented with
# autodoc then appear once, not twice.
napoleon_use_ivar = True

# The doctest builder runs only the guides' explicit `testcode` /
# `testoutput` blocks; pytest already runs every `>>>` docstring example.
doctest_test_doctest_blocks = ""
doctest_default_flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# The examples that crash a server on purpose would print its crash report
# in the middle of the build's output: the report goes to a null handler.
doctest_global_setup = """
import logging
logging.getLogger("otp").addHandler(logging.NullHandler())
"""

html_theme = "furo"
html_title = f"otp {release}"
html_static_path: list[str] = []
html_show_sourcelink = False

"""Sphinx configuration: MyST markdown, autodoc for the reference, Mermaid for the graph.

Only three packages are needed to build (the ``docs`` dependency group): sphinx,
myst-parser and sphinxcontrib-mermaid.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The reference is generated from the docstrings of the package in src/, also when the
# package is not installed in the environment that builds the docs.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

project = "nox-workspace"
author = "nox-workspace developers"
copyright = "nox-workspace developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinxcontrib.mermaid",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# MyST: anchors for headings down to ###, so pages can link to a section.
myst_heading_anchors = 3

# autodoc: members in source order, signatures with their type hints.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True}

html_theme = "alabaster"
html_title = "nox-workspace"
html_theme_options = {
    "description": "Nox sessions for every member of a uv workspace",
    "fixed_sidebar": True,
}

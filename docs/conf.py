"""Sphinx configuration: the Markdown pages of docs/ (MyST) and an API reference generated from
the docstrings (autodoc + napoleon), whose reST maths (``:math:`` roles, ``.. math::`` blocks)
MathJax renders from the site itself (sphinx-mathjax-offline; no CDN).
Build: ``sphinx-build -W -b html docs docs/_build/html``."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout's packages, also when built from a clean clone

from cgd_optim import __version__  # noqa: E402

project = "cgd_optim"
author = "The cgd_optim authors"
copyright = "2026, The cgd_optim authors"
release = version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 copied into the site (_static/mathjax): maths render offline
    "sphinx.ext.viewcode",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "figures/*.md"]
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3  # the pages link to each other's sections by their titles

autodoc_default_options = {"members": True, "show-inheritance": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_mock_imports = ["CGDs", "torch_fidelity"]  # optional dependencies of a few functions
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = f"cgd_optim {release}"

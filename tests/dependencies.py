"""Modules of the ``test`` extra that some tests need (the authors' ``cgds``, ``torch-fidelity``).

Outside CI a missing one skips those tests, so a contributor without it still runs the rest; in
CI (``CI`` set, as ``.ci/run`` does) it is an ImportError, so a broken install cannot pass by
skipping the tests against the authors' code."""

import importlib
import os

import pytest


def required(name: str):
    """The module ``name``: imported (CI) or ``pytest.importorskip``-ed (elsewhere)."""
    if os.environ.get("CI"):
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=f"{name} (the test extra: pip install -e '.[test]') is not installed")

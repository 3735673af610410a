"""Every `>>>` example in the align package runs."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "align.pairs",
    "align.scrub",
    "align.clean",
    "align.gate",
    "align.train",
    "align.retrain",
    "align.docs",
    "align.bootstrap",
    "align.holdout",
    "align.replay",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0

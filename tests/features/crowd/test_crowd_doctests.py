"""The examples in the crowd and heat-map modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "streamcv.features.crowd.figure", "streamcv.features.crowd.gates", "streamcv.features.heatmap",
    "streamcv.features.heatmap.accumulate", "streamcv.features.heatmap.grid", "streamcv.features.heatmap.hotspots",
    "streamcv.features.heatmap.render", "streamcv.features.heatmap.store", "streamcv.features.crowd.models.inference",
    "streamcv.features.crowd.models.loading", "streamcv.features.crowd.models.mcnn", "streamcv.features.crowd.models.msfanet",
    "streamcv.features.crowd.models.vgg", "streamcv.features.heatmap.queries", "streamcv.features.crowd.stage",
    "streamcv.features.heatmap.stage", "streamcv.features.heatmap.schema",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0

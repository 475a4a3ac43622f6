"""The examples in the crowd and heat-map modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "streamcv.crowd.figure", "streamcv.crowd.gates", "streamcv.heatmap",
    "streamcv.heatmap.accumulate", "streamcv.heatmap.grid", "streamcv.heatmap.hotspots",
    "streamcv.heatmap.render", "streamcv.heatmap.store", "streamcv.models.crowd.inference",
    "streamcv.models.crowd.loading", "streamcv.models.crowd.mcnn", "streamcv.models.crowd.msfanet",
    "streamcv.models.crowd.vgg", "streamcv.query.tables_heatmap", "streamcv.stages.crowd",
    "streamcv.stages.heatmap", "streamcv.store.schema_heatmap",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0

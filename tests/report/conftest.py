"""A results database filled by real replays, shared by the report tests.

The face-demographics GIF of the shared data (35 frames, two people walking towards the camera)
is replayed twice into one SQLite file: with the ``surveillance`` preset (motion and a motion
alert) and with the ``retail`` preset (detection, tracking, counting zones and line, crowd count,
heat map, faces with age and gender). Together they give every figure of a report. The model
store is a temporary ``STREAMCV_HOME`` whose ``models/`` links the shared weights.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from media import shared_data

from streamcv.cli import main

CLIP = "intel_face_demographics_walking.gif"
SOURCE = "intel_face_demographics_walking"


@dataclass(frozen=True)
class ReplayedDb:
    url: str
    source: str
    folder: Path


#: A crowd stage (MCNN, cheap) feeding a density heat map: the report draws the density at the
#: crowd count's peak from it.
DENSITY_PIPELINE = """\
name: density_probe
stages:
  - type: crowd
    model: mcnn_shanghaitech_b
    interval_s: 0.5
  - type: heatmap
    input: density
    density_from: crowd
    window: 1min
"""


@contextmanager
def _model_home(folder: Path) -> Iterator[None]:
    """``STREAMCV_HOME`` = ``folder/home`` whose ``models/`` links the shared weights."""
    data = shared_data()
    home = folder / "home"
    (home / "models").mkdir(parents=True, exist_ok=True)
    for weights in (data / "models").iterdir():
        link = home / "models" / weights.name
        if weights.is_file() and not link.exists():
            link.symlink_to(weights)
    old = os.environ.get("STREAMCV_HOME")
    os.environ["STREAMCV_HOME"] = str(home)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("STREAMCV_HOME", None)
        else:
            os.environ["STREAMCV_HOME"] = old


def _replay(folder: Path, *pipelines: str) -> ReplayedDb:
    clip = shared_data() / "videos" / CLIP
    if not clip.is_file():
        pytest.fail(f"{clip} is missing from the shared data")
    url = f"sqlite:///{folder / 'results.db'}"
    with _model_home(folder):
        for pipeline in pipelines:
            code = main(["replay", str(clip), "--pipeline", pipeline, "--db", url,
                         "--no-progress"])
            assert code == 0, f"replay with {pipeline} failed"
    return ReplayedDb(url, SOURCE, folder)


@pytest.fixture(scope="package")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> ReplayedDb:
    """The clip replayed with the ``surveillance`` and ``retail`` presets."""
    return _replay(tmp_path_factory.mktemp("report_db"), "surveillance", "retail")


@pytest.fixture(scope="package")
def replayed_density(tmp_path_factory: pytest.TempPathFactory) -> ReplayedDb:
    """The clip replayed with :data:`DENSITY_PIPELINE`."""
    folder = tmp_path_factory.mktemp("report_density_db")
    (folder / "density.yaml").write_text(DENSITY_PIPELINE)
    return _replay(folder, str(folder / "density.yaml"))

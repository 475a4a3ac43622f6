"""Dashboard test fixtures: one real replay into a results database per session (see
dashkit.py), a writable copy, and a test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashkit import CLIP, Replayed, pipeline
from media import shared_data


@pytest.fixture(scope="session")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    from streamcv.app import Job, as_pipeline
    from streamcv.config.models import PipelineConfig
    from streamcv.sinks.snapshots import SnapshotSink
    from streamcv.sources import source_config_from_spec

    data = shared_data()
    folder = tmp_path_factory.mktemp("web")
    db = folder / "results.db"
    snaps = folder / "results.snapshots"  # the alert stage's default beside results.db
    src = source_config_from_spec(str(data / CLIP), fps=5.0).model_copy(update={"end": 6.0})
    job = (Job("replay", as_pipeline(PipelineConfig.model_validate(pipeline(data / "models"))))
           .sources([src]).store(f"sqlite:///{db}")
           .media(SnapshotSink(snaps, every_s=2.0)))
    result = job.run()
    assert result.summary.frames >= 25 and not result.summary.failed
    assert result.run_id is not None
    return Replayed(db, snaps, int(result.run_id))


@pytest.fixture
def writable(replayed: Replayed, tmp_path: Path) -> Replayed:
    """A copy of the replayed database that a test may change."""
    return replayed.copy(tmp_path)


@pytest.fixture(scope="module")
def client(replayed: Replayed) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from streamcv.web.app import create_app

    with TestClient(create_app(replayed.url)) as c:
        yield c

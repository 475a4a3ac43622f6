"""Fixtures of the alert tests: databases (SQLite, PostgreSQL), real receivers, a test clip."""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from alertkit import Mosquitto, SmtpSink, WebhookReceiver, need

from streamcv.store.testing import PG_URL_ENV, temporary_pg_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty results database: a SQLite file, or a fresh schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/alerts.db"
        return
    admin = os.environ.get(PG_URL_ENV)
    need(f"PostgreSQL ({PG_URL_ENV}; start one with .ci/pg_start.sh)", bool(admin))
    with temporary_pg_schema(str(admin)) as url:
        yield url


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield broker
    broker.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        need("aiosmtpd (pip install aiosmtpd)", False)
    sink = SmtpSink()
    yield sink
    sink.stop()


def _intruder_clip(path: Path, *, visits: tuple[tuple[float, float], ...], seconds: float,
                   fps: int = 10, size: tuple[int, int] = (320, 192)) -> Path:
    """A static textured scene; a dark 'person' stands in the middle during each visit."""
    w, h = size
    rng = np.random.default_rng(7)
    scene = (rng.integers(60, 190, (h // 8, w // 8), dtype=np.uint8)
             .repeat(8, axis=0).repeat(8, axis=1))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast", "g": str(fps)}
        for i in range(round(seconds * fps)):
            t = i / fps
            img = np.repeat(scene[:, :, None], 3, axis=2).copy()
            if any(a <= t < b for a, b in visits):
                x = w // 2 - 20 + int(6 * np.sin(t * 3))  # sways a little, like a person
                img[h // 4: h // 4 + 100, x: x + 40] = (30, 30, 40)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    return path


#: Visits of the intruder clip: (enter, leave) seconds.
VISITS = ((2.0, 4.0), (6.0, 7.5))


@pytest.fixture(scope="session")
def intruder_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """9 s at 10 fps, 320x192: someone stands in the middle during 2-4 s and 6-7.5 s."""
    return _intruder_clip(tmp_path_factory.mktemp("clips") / "yard.mp4", visits=VISITS,
                          seconds=9.0)

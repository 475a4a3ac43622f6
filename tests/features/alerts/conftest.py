"""Fixtures of the alert tests: databases (SQLite, PostgreSQL), real receivers, a test clip."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alertkit import VISITS, Mosquitto, SmtpSink, WebhookReceiver, _intruder_clip, need

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


@pytest.fixture(scope="session")
def intruder_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """9 s at 10 fps, 320x192: someone stands in the middle during 2-4 s and 6-7.5 s."""
    return _intruder_clip(tmp_path_factory.mktemp("clips") / "yard.mp4", visits=VISITS,
                          seconds=9.0)

"""Test-wide set-up: make the helpers in tests/ (media.py, ...) importable as plain modules."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import os  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty results database: a SQLite file, or a fresh PostgreSQL database.

    PostgreSQL comes from ``$STREAMCV_TEST_PG_URL`` (``.ci/run`` starts one); without it the
    PostgreSQL case skips, except under ``CI`` where it fails.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/results.db"
        return
    from pgkit import pg_admin_url

    from streamcv.store.testing import temporary_pg_database

    with temporary_pg_database(pg_admin_url()) as url:
        yield url


@pytest.fixture(autouse=True, scope="session")
def _isolated_streamcv_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Model store, snapshots and spools of the tests go to a temporary STREAMCV_HOME."""
    old = os.environ.get("STREAMCV_HOME")
    os.environ["STREAMCV_HOME"] = str(tmp_path_factory.mktemp("streamcv_home"))
    yield
    if old is None:
        os.environ.pop("STREAMCV_HOME", None)
    else:
        os.environ["STREAMCV_HOME"] = old


@pytest.fixture
def store_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("STREAMCV_HOME", str(home))
    return home

"""Opening databases: fresh, older revisions, foreign or newer schemas, unreachable servers."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import bindparam, create_engine, inspect, select, text
from sqlalchemy.pool import NullPool

from streamcv.errors import StoreError
from streamcv.store import ResultStore, default_db_url
from streamcv.store import migrations as mig
from streamcv.store import schema as s
from streamcv.store.db import normalize_url

FIRST = "0001"

# A revision written only for this test: adds a column to a table that already holds rows.
PROBE_REVISION = '''
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = {heads!r}
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("sources", sa.Column("note", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("sources", "note")
'''


def _engine(url: str):  # type: ignore[no-untyped-def]
    return create_engine(normalize_url(url), poolclass=NullPool)


def _revision(url: str) -> str | None:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return mig.current_revision(conn)
    finally:
        engine.dispose()


def _at_first_revision_with_rows(url: str) -> None:
    """A database made by an old streamcv: revision 1 schema, some rows, written with raw SQL."""
    ts = bindparam("ts", datetime(2026, 1, 1, tzinfo=UTC), type_=s.UTCDateTime())
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(mig.alembic_config(connection=conn), FIRST)
            for sql in (
                "INSERT INTO sources (name, kind, uri, created_at) "
                "VALUES ('cam1', 'file', '/a', :ts)",
                "INSERT INTO runs (kind, pipeline, status, started_at) "
                "VALUES ('replay', 'people', 'finished', :ts)",
                "INSERT INTO frames (run_id, source_id, frame_index, time_s, ts, width, height) "
                "VALUES (1, 1, 0, 0.0, :ts, 640, 480)",
            ):
                conn.execute(text(sql).bindparams(ts))
    finally:
        engine.dispose()


def test_fresh_database_is_created_at_head(db_url: str) -> None:
    with ResultStore(db_url) as store, store.engine.connect() as conn:
        assert mig.current_revision(conn) == mig.head_revision()
        assert set(inspect(conn).get_table_names()) >= mig.streamcv_tables()


def test_migrations_match_schema(store: ResultStore) -> None:
    """The tables in schema.py and the Alembic revisions describe the same schema."""
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, s.metadata) == []


def test_database_at_first_revision_opens_and_keeps_rows(db_url: str) -> None:
    _at_first_revision_with_rows(db_url)
    assert _revision(db_url) == FIRST
    with ResultStore(db_url) as store, store.engine.connect() as conn:
        assert mig.current_revision(conn) == mig.head_revision()
        fr = conn.execute(select(s.frames)).one()
        assert (fr.frame_index, fr.width, fr.ts) == (0, 640, datetime(2026, 1, 1, tzinfo=UTC))
        assert conn.execute(select(s.sources.c.name)).scalar_one() == "cam1"


def test_older_revision_is_upgraded_and_logged(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _at_first_revision_with_rows(db_url)
    scripts = tmp_path / "migrations"
    shutil.copytree(mig.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = mig.head_revision()  # comma-separated when feature branches are not merged yet
    heads = mig.head_revisions()
    (scripts / "versions" / "9001_probe.py").write_text(PROBE_REVISION.format(heads=heads))
    monkeypatch.setattr(mig, "MIGRATIONS_DIR", scripts)
    if head != FIRST:  # bring it to the shipped head first, so 9001 is the only step left
        engine = _engine(db_url)
        with engine.begin() as conn:
            for rev in heads:  # the shipped heads only (9001 is already in the scripts)
                mig.upgrade(conn, rev)
        engine.dispose()
    with caplog.at_level(logging.WARNING, logger="streamcv.store.migrations"):
        store = ResultStore(db_url)
    with store, store.engine.connect() as conn:
        assert mig.current_revision(conn) == "9001"
        assert conn.execute(text("SELECT name, note FROM sources")).one() == ("cam1", None)
        assert conn.execute(select(s.frames.c.width)).scalar_one() == 640
    assert any(f"from schema revision {head} to 9001" in r.getMessage() for r in caplog.records), [
        r.getMessage() for r in caplog.records]


def test_tables_without_alembic_version_are_refused(db_url: str) -> None:
    engine = _engine(db_url)
    with engine.begin() as conn:
        s.frames.metadata.create_all(conn, tables=[s.sources, s.runs])
    engine.dispose()
    match = r"streamcv tables \(runs, sources\) but no alembic_version"
    with pytest.raises(StoreError, match=match):
        ResultStore(db_url)


def test_unknown_newer_revision_is_refused(db_url: str) -> None:
    ResultStore(db_url).close()
    engine = _engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('ffff')"))
    engine.dispose()
    with pytest.raises(StoreError, match="revision 'ffff'.*newer streamcv"):
        ResultStore(db_url)


def test_query_mode_does_not_create(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(StoreError, match="no streamcv database"):
        ResultStore(f"sqlite:///{missing}", create=False)
    assert not missing.exists()


def test_sqlite_parent_dirs_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "r.db"
    with ResultStore(str(path)) as store, store.engine.connect() as conn:  # plain path = SQLite
        assert path.exists()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:pw@127.0.0.1:1/x",
         "cannot open database postgresql+psycopg://u:***@127.0.0.1:1/x: "),
        ("postgresql+psycopg://postgres@127.0.0.1:1/x",
         "cannot open database postgresql+psycopg://postgres@127.0.0.1:1/x: "),
    ],
)
def test_unreachable_postgres_is_one_line_store_error(url: str, expected: str) -> None:
    with pytest.raises(StoreError) as info:
        ResultStore(url)
    msg = str(info.value)
    assert msg.startswith(expected) and "refused" in msg.lower()
    assert "\n" not in msg and "pw" not in msg.replace("psycopg", "")
    assert isinstance(info.value, RuntimeError)


@pytest.mark.parametrize(
    ("url", "error"),
    [("mysql://h/db", "unsupported database"), ("sqlite:///{tmp}", "cannot open database")],
)
def test_bad_urls(url: str, error: str, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=error):
        ResultStore(url.format(tmp=tmp_path))  # {tmp}: a directory, not a file


@pytest.mark.parametrize(
    ("given", "driver"),
    [("postgresql://u@h/db", "postgresql+psycopg"), ("postgres://u@h/db", "postgresql+psycopg"),
     ("postgresql+psycopg://u@h/db", "postgresql+psycopg"), ("sqlite:///x.db", "sqlite"),
     ("results/x.db", "sqlite")],
)
def test_normalize_url(given: str, driver: str) -> None:
    assert normalize_url(given).drivername == driver


def test_default_db_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAMCV_DB", raising=False)
    assert default_db_url() == "sqlite:///streamcv.db"
    monkeypatch.setenv("STREAMCV_DB", "postgresql://u@h/db")
    assert default_db_url() == "postgresql://u@h/db"

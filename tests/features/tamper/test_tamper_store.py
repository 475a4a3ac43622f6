"""The ``scene_quality`` table: its migration on databases made before the feature, its key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import bindparam, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from streamcv.features.tamper.schema import TABLE
from streamcv.features.tamper.windows import QualityWindows
from streamcv.store import ResultStore
from streamcv.store import migrations as mig
from streamcv.store import schema as s
from streamcv.store.db import normalize_url

REVISION = "0900"
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def _rows(n: int = 3) -> list[dict[str, object]]:
    acc = QualityWindows("cam", "tamper", window_s=60, max_gap_s=5)
    rows = []
    for i in range(n * 60):
        rows += acc.add(T0 + timedelta(seconds=i), (100.0, 40.0, 500.0), frozenset())
    return rows + acc.flush()


def test_a_database_made_before_the_feature_gets_its_table(any_db_url: str) -> None:
    old_heads = [h for h in mig.head_revisions() if h != REVISION]
    assert REVISION in mig.head_revisions() and old_heads  # a branch of its own
    engine = create_engine(normalize_url(any_db_url), poolclass=NullPool)
    ts = bindparam("ts", T0, type_=s.UTCDateTime())
    with engine.begin() as conn:
        for head in old_heads:
            command.upgrade(mig.alembic_config(connection=conn), head)
        conn.execute(text("INSERT INTO sources (name, kind, uri, created_at) "
                          "VALUES ('cam', 'file', '/a', :ts)").bindparams(ts))
    with engine.connect() as conn:
        assert mig.current_revisions(conn) == tuple(old_heads)
        assert TABLE not in inspect(conn).get_table_names()
    engine.dispose()
    with ResultStore(any_db_url) as store:
        with store.engine.connect() as conn:
            assert mig.current_revisions(conn) == mig.head_revisions()
            assert TABLE in inspect(conn).get_table_names()
            assert conn.execute(text("SELECT name FROM sources")).scalar_one() == "cam"
        run = store.begin_run(kind="replay", pipeline="tamper", config={})
        for _ in range(2):  # the same windows written twice (a replay run again): kept once
            with store.writer(run) as writer:
                writer.write(TABLE, _rows())
        with store.engine.connect() as conn:
            got = conn.execute(text(f"SELECT frames, seconds FROM {TABLE} ORDER BY ts")).all()
        assert [tuple(r) for r in got] == [(60, 60.0)] * 3

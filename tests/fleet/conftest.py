"""Fixtures of the fleet tests: a real two-node Ray cluster (in this process, nodes on the loopback
addresses 127.0.0.2 and 127.0.0.3, one CPU each), fresh PostgreSQL databases, and a comparison of
whole result tables between two databases.

Ray comes with the test extra; without it (or without PostgreSQL) the tests skip, except under
``CI``, where they fail.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pgkit import pg_admin_url
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from streamcv.store.db import normalize_url

#: Columns whose values legitimately differ between two replays of the same files: generated ids,
#: wall-clock times of the writing and of alert delivery, and delivery bookkeeping.
VOLATILE = {"id", "created_at", "sent_at", "claimed_by", "claimed_at", "next_attempt_at",
            "attempts", "state_changed_at", "last_error"}
#: Tables that describe runs and sources rather than results (compared through their keys).
META = {"alembic_version", "runs", "sources"}


def _need(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what}; CI is set, so the fleet tests must not be skipped")
    pytest.skip(what)


@dataclass
class RayTestCluster:
    """A running two-node cluster: ``cluster`` (``ray.cluster_utils.Cluster``) and its second
    node ``worker`` (the one a test may kill; the head holds the cluster's control plane)."""

    cluster: Any
    worker: Any


#: Node death detected in about 2 s instead of Ray's default of tens of seconds.
FAST_HEALTH_CHECKS = {"health_check_initial_delay_ms": 500, "health_check_period_ms": 500,
                      "health_check_timeout_ms": 1000, "health_check_failure_threshold": 3}


def _forget_session(session: str) -> None:
    """Remove a stopped cluster's session folder and Ray's ``session_latest`` link to it (again
    after a moment: a process of a killed node may still be writing its last log line)."""
    for _ in range(4):
        shutil.rmtree(session, ignore_errors=True)
        time.sleep(0.5)
        if not os.path.exists(session):
            break
    latest = Path(session).parent / "session_latest"
    if latest.is_symlink() and os.readlink(latest) == session:
        latest.unlink()


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayTestCluster]:
    """Two Ray nodes (``ray.cluster_utils.Cluster``: real raylets and workers, started from this
    process) on 127.0.0.2 and 127.0.0.3 with one CPU each, connected: ``ray.init`` is called, so
    :func:`streamcv.fleet.replay` uses this cluster. Everything stops at the end of the module
    (a test may kill a node)."""
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        _need("Ray is not installed (pip install 'streamcv[ray]')")
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED")}
    os.environ.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    node: dict[str, Any] = {"num_cpus": 1, "object_store_memory": 100 * 1024 * 1024}
    try:
        with ExitStack() as stack:
            cluster = Cluster(initialize_head=True, head_node_args={
                **node, "node_ip_address": "127.0.0.2", "include_dashboard": False,
                "_system_config": FAST_HEALTH_CHECKS})
            assert cluster.head_node is not None
            session = cluster.head_node.get_session_dir_path()
            stack.callback(_forget_session, session)  # its logs in /tmp/ray
            stack.callback(cluster.shutdown)
            worker = cluster.add_node(**node, node_ip_address="127.0.0.3")
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, logging_level=logging.WARNING)
            stack.callback(ray.shutdown)
            yield RayTestCluster(cluster, worker)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def pg_databases() -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty PostgreSQL databases, all dropped when the module ends."""
    from streamcv.store.testing import temporary_pg_database

    admin = pg_admin_url()
    with ExitStack() as stack:
        yield lambda: stack.enter_context(temporary_pg_database(admin, prefix="streamcv_fleet_"))


def table_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every result table of the database at ``url`` as sorted rows that two replays of the same
    files must share: run ids become run keys, source ids become source names, alert ids become
    alert keys, and :data:`VOLATILE` columns are left out."""
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            runs: dict[int, str] = dict(conn.execute(text("SELECT id, run_key FROM runs")).all())
            names: dict[int, str] = dict(conn.execute(text("SELECT id, name FROM sources")).all())
            tables = inspect(engine).get_table_names()
            alerts: dict[int, str] = {}
            if "alerts" in tables:
                alerts = dict(conn.execute(text("SELECT id, alert_key FROM alerts")).all())
            out: dict[str, list[tuple[Any, ...]]] = {}
            for table in sorted(set(tables) - META):
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
                shown = []
                for row in rows:
                    doc = {k: v for k, v in row.items() if k not in VOLATILE}
                    if "run_id" in doc:
                        doc["run_id"] = runs[doc["run_id"]]
                    if doc.get("source_id") is not None:
                        doc["source_id"] = names[doc["source_id"]]
                    if "alert_id" in doc:
                        doc["alert_id"] = alerts[doc["alert_id"]]
                    _unnumber(table, row, doc, runs)
                    shown.append(tuple(sorted((k, repr(v)) for k, v in doc.items())))
                out[table] = sorted(shown)
            return out
    finally:
        engine.dispose()


def _unnumber(table: str, row: Any, doc: dict[str, Any], runs: dict[int, str]) -> None:
    """Alert texts and payloads name the alert's and the run's generated ids: take them out."""
    if table == "alerts" and isinstance(doc.get("message"), str):
        doc["message"] = re.sub(rf"\balert {row['id']}\b", "alert <id>", doc["message"])
    if table == "alert_deliveries" and isinstance(doc.get("payload"), dict):
        payload = {k: v for k, v in doc["payload"].items() if k != "alert_id"}
        payload["run_id"] = runs.get(payload.get("run_id", -1))
        doc["payload"] = payload


def run_rows(url: str) -> list[tuple[Any, ...]]:
    """(run key, kind, pipeline, status) of every run."""
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(text(
                "SELECT run_key, kind, pipeline, status FROM runs")).all())
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def clips() -> list[Path]:
    """Three real clips of the shared data: 59, 377 and 795 frames."""
    from media import shared_data

    videos = shared_data() / "videos"
    return [videos / "derived_empty_room_from_one_by_one_0.0-5.9s.mp4",
            videos / "intel_car_detection_parking_lot.mp4",
            videos / "pets09_s2l1_view001_vtest_480x360.mp4"]


@pytest.fixture(scope="session")
def tables() -> Callable[[str], dict[str, list[tuple[Any, ...]]]]:
    """:func:`table_rows`: a database's result tables, comparable across databases."""
    return table_rows


@pytest.fixture(scope="session")
def runs() -> Callable[[str], list[tuple[Any, ...]]]:
    """:func:`run_rows`: a database's runs, by run key."""
    return run_rows

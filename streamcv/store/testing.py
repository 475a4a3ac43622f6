"""Test helpers for code that writes to a results store (no pytest dependency).

Example (in a conftest)::

    from streamcv.store.testing import PG_URL_ENV, temporary_pg_schema

    @pytest.fixture
    def pg_url():
        with temporary_pg_schema(os.environ[PG_URL_ENV]) as url:
            yield url

``temporary_pg_schema`` (~10 ms) isolates a test in its own schema; ``temporary_pg_database``
(~0.2 s) gives it a whole database, for tests that need database-wide isolation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from streamcv.store.db import normalize_url

__all__ = ["PG_URL_ENV", "temporary_pg_database", "temporary_pg_schema"]

#: Environment variable naming the PostgreSQL server used by tests (see ``.ci/pg_start.sh``).
PG_URL_ENV = "STREAMCV_TEST_PG_URL"


@contextmanager
def temporary_pg_database(admin_url: str, *, prefix: str = "streamcv_test_") -> Iterator[str]:
    """Create a fresh PostgreSQL database for one test and drop it afterwards.

    Args:
        admin_url: URL of any database on the server, for a user allowed to create databases.
        prefix: name prefix of the new database (a random suffix is added).

    Yields:
        The URL of the new, empty database (password kept, so it can be connected to).
    """
    url = normalize_url(admin_url)
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:  # FORCE: also end connections a test left open
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def temporary_pg_schema(admin_url: str, *, prefix: str = "streamcv_test_") -> Iterator[str]:
    """Create a fresh PostgreSQL schema for one test and drop it (with its tables) afterwards.

    Args:
        admin_url: URL of the database to create the schema in.
        prefix: name prefix of the new schema (a random suffix is added).

    Yields:
        A URL whose connections use the new schema only (``options=-csearch_path=<schema>``),
        so tables, indexes and ``alembic_version`` all land there.
    """
    url = normalize_url(admin_url)
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        try:
            scoped = url.update_query_dict({"options": f"-csearch_path={name}"})
            yield scoped.render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        admin.dispose()

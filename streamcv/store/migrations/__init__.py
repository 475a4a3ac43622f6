"""Alembic migrations of the results store, driven from code (no ``alembic.ini``).

:class:`~streamcv.store.ResultStore` calls :func:`ensure_schema` when it opens a database: an
empty database is upgraded to head, one at an older revision is upgraded (and logged), one with
streamcv tables but no ``alembic_version`` or at an unknown revision is refused with a
:class:`~streamcv.errors.StoreError`. On PostgreSQL the upgrade runs in one transaction under an
advisory lock, so many workers may open one fresh database at once.

Revisions live in ``versions/`` (core tables: runs, sources, frames, observations, detections,
events, health) and in each feature's ``migrations/`` folder (:func:`version_dirs` lists them,
from ``Feature.migrations``). Revision ids are global across all folders: take the next free
number (``python -m streamcv.store.migrations heads`` shows the heads).

Adding a feature's tables:

1. Define them in the feature's ``schema.py`` on ``streamcv.store.schema.metadata`` and list them
   in its ``Feature.tables`` (:func:`streamcv_tables` loads every feature's).
2. Write one revision in the feature's ``migrations/`` as its own branch: ``down_revision =
   None``, ``branch_labels = ("FEATURE",)``, ``depends_on = "0001"`` (the core tables it refers
   to). Write the DDL out in full (no imports of ``streamcv`` code) and keep constraint names
   (``NAMING_CONVENTION``). ``python -m streamcv.store.migrations revision -m "..."`` can draft
   it from the difference between the schema and a scratch database at the heads.
3. Run ``pytest tests/store``: ``test_migrations_match_schema`` fails when the tables and the
   revisions disagree, and the migration tests upgrade an old database to the new heads.

The store upgrades to *all* heads, so feature branches coexist and a database made before a
feature existed gains its tables on its next open. History: the alerts (``0300``) and heat-map
(``0500``) revisions predate feature branches and sit in the one linear chain
``0001 → 0300 → 0500 → 0800`` (core health tables), which existing databases record; they stay
so, although ``0800`` is core and ``0500`` a feature's.

Example:
    >>> from streamcv.store.migrations import head_revision
    >>> head_revision() >= "0001"
    True
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from streamcv import plugins
from streamcv.errors import StoreError
from streamcv.store import schema_health  # noqa: F401 - defines its tables on metadata
from streamcv.store.schema import metadata

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "head_revision",
    "head_revisions",
    "current_revision",
    "current_revisions",
    "upgrade",
    "ensure_schema",
    "streamcv_tables",
]

log = logging.getLogger(__name__)

#: The Alembic script directory (``env.py``, ``versions/``) inside the installed package.
MIGRATIONS_DIR = Path(__file__).resolve().parent

# pg_advisory_xact_lock key serialising schema upgrades ("scvm" in ASCII).
_PG_LOCK_KEY = 0x7363766D


def alembic_config(*, connection: Connection | None = None, url: str | None = None) -> Config:
    """Build an Alembic ``Config`` for the packaged migrations.

    Args:
        connection: run migrations on this connection, inside its current transaction.
        url: database URL, used only when ``connection`` is not given.

    Returns:
        A config usable with ``alembic.command`` (``upgrade``, ``current``, ``revision``, ...).
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.set_main_option("truncate_slug_length", "40")
    cfg.set_main_option("version_path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in version_dirs()))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def streamcv_tables() -> frozenset[str]:
    """Every table streamcv owns: the core and health tables and every feature's
    (used to detect a database that was not made by Alembic)."""
    for feat in plugins.features():
        for table in feat.tables:
            if table.metadata is not metadata:
                raise ValueError(f"feature {feat.name}: table {table.name} is not defined on "
                                 "streamcv.store.schema.metadata")
    return frozenset(metadata.tables)


def version_dirs() -> list[Path]:
    """Folders holding revisions: the core ``versions/`` and each feature's ``migrations``."""
    dirs = [MIGRATIONS_DIR / "versions"]
    dirs += [f.migrations for f in plugins.features() if f.migrations is not None]
    return dirs


def head_revisions() -> tuple[str, ...]:
    """The newest revision id of every branch shipped with this package (sorted)."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if not heads:  # pragma: no cover - the package always ships revision 0001
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}")
    return tuple(sorted(heads))


def head_revision() -> str:
    """The newest revision id(s) shipped with this package, comma-separated if branched."""
    return ",".join(head_revisions())


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions a database is at (empty when it has no ``alembic_version`` table)."""
    return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def current_revision(connection: Connection) -> str | None:
    """The revision(s) a database is at, comma-separated, or ``None`` when unversioned."""
    return ",".join(current_revisions(connection)) or None


def upgrade(connection: Connection, revision: str = "heads") -> None:
    """Upgrade the database behind ``connection`` to ``revision`` (in its transaction)."""
    command.upgrade(alembic_config(connection=connection), revision)


def ensure_schema(engine: Engine, *, create: bool = True, shown_url: str | None = None) -> None:
    """Bring the database to the head revision, creating the schema when it is empty.

    Args:
        engine: engine of the database.
        create: when false, an empty database is an error (for read-only users like ``query``).
        shown_url: URL for messages (password redacted); defaults to the engine's.

    Raises:
        StoreError: the database was not made by streamcv's migrations, is at an unknown (newer)
            revision, is empty while ``create`` is false, or the upgrade failed.
    """
    shown = shown_url or engine.url.render_as_string(hide_password=True)
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                _migrate(conn, create=create, shown=shown)
            return
        except StoreError:
            raise
        except (SQLAlchemyError, CommandError) as exc:
            # Two SQLite processes creating one new file race on CREATE TABLE: look again once.
            if attempt == 2:
                msg = str(exc).strip().splitlines()[0]
                raise StoreError(f"cannot migrate database {shown}: {msg}") from exc
            log.debug("schema upgrade of %s failed (%s); retrying once", shown, exc)


def _migrate(conn: Connection, *, create: bool, shown: str) -> None:
    currents = current_revisions(conn)
    heads = head_revisions()
    head = ",".join(heads)
    if currents == heads:
        return
    current = ",".join(currents) or None
    if current is None:
        ours = sorted(set(inspect(conn).get_table_names()) & streamcv_tables())
        if ours:
            raise StoreError(
                f"database {shown} has streamcv tables ({', '.join(ours)}) but no alembic_version "
                "table, so its schema revision is unknown; use a new database or move these aside"
            )
        if not create:
            raise StoreError(f"no streamcv database at {shown} (it has no streamcv tables)")
        log.info("creating streamcv schema (revision %s) in %s", head, shown)
    else:
        script = ScriptDirectory.from_config(alembic_config())
        try:
            known = all(script.get_revision(rev) is not None for rev in currents)
        except CommandError:
            known = False
        if not known:
            raise StoreError(
                f"database {shown} is at schema revision {current!r}, which this streamcv does not "
                f"know (newest known: {head!r}); was it written by a newer streamcv?"
            )
        log.warning("upgrading database %s from schema revision %s to %s", shown, current, head)
    upgrade(conn, "heads")

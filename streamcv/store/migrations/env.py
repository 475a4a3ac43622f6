"""Alembic environment for the streamcv results store (run by Alembic, not imported).

Driven from code: :func:`streamcv.store.migrations.alembic_config` builds the ``Config``, and the
caller passes an open connection in ``config.attributes["connection"]`` (the upgrade then runs
inside the caller's transaction). ``sqlalchemy.url`` is used only when no connection is given
(offline ``--sql`` mode, or the ``python -m streamcv.store.migrations`` helper).
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, create_engine, pool

from streamcv.store.migrations import streamcv_tables
from streamcv.store.schema import UTCDateTime, metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render streamcv's custom column types as plain SQLAlchemy types in new revisions."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    streamcv_tables()  # every feature's tables on ``metadata`` (autogenerate compares them)
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER goes through copies
        compare_type=True,
        render_item=_render_item,
    )


def _run_offline() -> None:
    config = context.config
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(str(config.get_main_option("sqlalchemy.url")), poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def main() -> None:
    """Run the migrations Alembic asked for (online with a connection, or offline SQL)."""
    if context.is_offline_mode():
        _run_offline()
    else:
        _run_online()


if getattr(context, "config", None) is not None:  # run by Alembic (not imported by a doctest run)
    main()

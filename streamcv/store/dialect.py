"""Dialect-specific SQL the store and feature tables share.

Example:
    >>> from sqlalchemy import Column, Integer, MetaData, Table
    >>> t = Table("t", MetaData(), Column("id", Integer, primary_key=True))
    >>> type(dialect_insert("sqlite", t).on_conflict_do_nothing()).__module__
    'sqlalchemy.dialects.sqlite.dml'
"""

from __future__ import annotations

from typing import Any

from streamcv.errors import StoreError

__all__ = ["dialect_insert"]


def dialect_insert(dialect: str, table: Any) -> Any:
    """A dialect-specific ``INSERT`` that supports ``on_conflict_do_nothing``."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    raise StoreError(f"unsupported database dialect {dialect!r}")

"""The test PostgreSQL server: its admin URL from ``$STREAMCV_TEST_PG_URL`` (``.ci/run`` starts
one with ``.ci/pg_start.sh``). Without it a test skips, except under ``CI``, where it fails."""

from __future__ import annotations

import os

import pytest

from streamcv.store.testing import PG_URL_ENV

__all__ = ["pg_admin_url"]


def pg_admin_url() -> str:
    """The admin URL, or skip (fail when ``CI`` is set) when the server is not configured."""
    admin = os.environ.get(PG_URL_ENV)
    if admin:
        return admin
    msg = f"{PG_URL_ENV} is not set (start a server with .ci/pg_start.sh and export it)"
    if os.environ.get("CI"):
        pytest.fail(f"{msg}; CI is set, so PostgreSQL tests must not be skipped")
    pytest.skip(msg)
    raise AssertionError("unreachable")  # pytest.skip raises

"""Set-up for the docstring examples (``pytest`` collects them from ``streamcv/`` with
``--doctest-modules``; see ``[tool.pytest.ini_options]`` in pyproject.toml).

Only modules under ``streamcv/`` are searched for examples. Each example runs in a sandbox: the
working directory and ``tempfile``'s folder are a fresh temporary folder (so a relative path in
an example never lands in the checkout), ``$STREAMCV_HOME`` is a temporary model store holding
links to the shared test models (``$STREAMCV_TEST_DATA/models``, or ``../shared/data/models``),
``$STREAMCV_DB`` is unset, and connecting to or looking up any host other than this one fails
(examples must not need the network).

An example that needs weights this machine does not have (``resolve_weights`` raises
:class:`~streamcv.errors.WeightsNotFoundError`) is reported as skipped, with that error's message
(which model, and the command that fetches it) as the reason; any other error fails.
"""

from __future__ import annotations

import doctest
import ipaddress
import os
import socket
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest.doctest import DoctestItem, DoctestModule

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "streamcv"


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(
    file_path: Path, parent: pytest.Collector
) -> Generator[None, list[pytest.Collector], list[pytest.Collector]]:
    """Docstring examples are collected from the package's modules only: ``--doctest-modules``
    would also import every helper under tests/ (some need the system Python) and, as top-level
    modules, the Alembic revision files (folders without ``__init__.py``)."""
    found = yield
    if PACKAGE in file_path.parents and (file_path.parent / "__init__.py").is_file():
        return found
    return [c for c in found if not isinstance(c, DoctestModule)]


def _shared_models() -> Path:
    env = os.environ.get("STREAMCV_TEST_DATA")
    return (Path(env) if env else ROOT.parent / "shared" / "data") / "models"


def _is_local(host: object) -> bool:
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


def _offline(what: str, host: object) -> OSError:
    return OSError(f"docstring examples may not use the network ({what} {host})")


def _local_connect(connect: Any) -> Any:
    def guarded(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise _offline("connect to", address[0])
        return connect(sock, address)

    return guarded


def _local_getaddrinfo(getaddrinfo: Any) -> Any:
    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local(host):
            raise _offline("look up", host)
        return getaddrinfo(host, *args, **kwargs)

    return guarded


@pytest.fixture(autouse=True)
def _doctest_sandbox(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    if not isinstance(request.node, DoctestItem):
        yield
        return
    work = tmp_path_factory.mktemp("doctest")
    models = work / "home" / "models"
    models.mkdir(parents=True)
    shared = _shared_models()
    if shared.is_dir():
        for f in shared.iterdir():
            if f.is_file():
                (models / f.name).symlink_to(f)
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    monkeypatch.setenv("STREAMCV_HOME", str(work / "home"))
    monkeypatch.delenv("STREAMCV_DB", raising=False)
    monkeypatch.setattr(socket.socket, "connect", _local_connect(socket.socket.connect))
    monkeypatch.setattr(socket, "getaddrinfo", _local_getaddrinfo(socket.getaddrinfo))
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if not (isinstance(item, DoctestItem) and report.failed and call.excinfo is not None):
        return report
    failure = call.excinfo.value
    from streamcv.errors import WeightsNotFoundError

    if isinstance(failure, doctest.UnexpectedException) and isinstance(
        failure.exc_info[1], WeightsNotFoundError
    ):
        line = (failure.test.lineno or 0) + failure.example.lineno + 1
        report.outcome = "skipped"
        report.longrepr = (str(item.path), line, f"Skipped: needs weights missing here: "
                                                  f"{failure.exc_info[1]}")
    return report

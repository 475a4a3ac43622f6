"""The on-disk spool: order, bound, crash recovery, restart, owner check; the writer's outage
classification."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from streamcv.errors import StoreError
from streamcv.store.outage import is_outage
from streamcv.store.spool import Spool, encode_record

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _rec(i: int, pad: int = 0) -> dict[str, object]:
    return {"kind": "rows", "run": 1, "i": i, "ts": T0 + timedelta(seconds=i), "pad": "x" * pad}


def _drain(spool: Spool, chunk: int = 3) -> list[object]:
    out = []
    while batch := spool.read(chunk):
        for pos, rec in batch:
            out.append(rec.get("i", rec["kind"]))
            spool.commit(pos)
    return out


@pytest.mark.parametrize("segment_bytes", [1024, 4096, 1 << 20])
def test_order_kept_across_segments_and_values_round_trip(
    tmp_path: Path, segment_bytes: int
) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=segment_bytes, fsync=False)
    for i in range(50):
        assert spool.append(_rec(i, pad=40))
    assert spool.pending_records == 50
    first = spool.read(1)[0][1]
    assert first["ts"] == T0 and first["ts"].tzinfo is not None
    assert _drain(spool) == list(range(50))
    assert (spool.pending_records, spool.pending_bytes) == (0, 0)
    assert len(list(tmp_path.glob("seg-*.spool"))) <= 1  # replayed segments are deleted
    spool.append(_rec(99))  # usable again after being emptied
    assert _drain(spool) == [99]


def test_offsets_and_naive_times_survive(tmp_path: Path) -> None:
    spool = Spool(tmp_path, fsync=False)
    plus2 = timezone(timedelta(hours=2))
    spool.append({"kind": "rows", "a": datetime(2026, 1, 1, 14, tzinfo=plus2), "n": None,
                  "f": 0.1, "nested": {"x": [1, 2]}})
    rec = spool.read(1)[0][1]
    assert rec["a"] == datetime(2026, 1, 1, 12, tzinfo=UTC) and rec["a"].utcoffset() == \
        timedelta(hours=2)
    assert (rec["n"], rec["f"], rec["nested"]) == (None, 0.1, {"x": [1, 2]})


def test_restart_resumes_after_the_last_commit(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=2048, fsync=False)
    for i in range(30):
        spool.append(_rec(i, pad=100))
    batch = spool.read(12)
    spool.commit(batch[-1][0], count=12)
    spool.close()
    again = Spool(tmp_path, segment_bytes=2048, fsync=False)
    assert again.pending_records == 18
    assert _drain(again) == list(range(12, 30))


def test_torn_tail_is_cut_on_open(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path, fsync=False)
    for i in range(3):
        spool.append(_rec(i))
    spool.close()
    seg = sorted(tmp_path.glob("seg-*.spool"))[-1]
    blob = encode_record(_rec(3))
    with open(seg, "ab") as fh:
        fh.write(blob[: len(blob) // 2])  # the process died mid-append
    with caplog.at_level(logging.WARNING):
        again = Spool(tmp_path, fsync=False)
    assert again.pending_records == 3
    assert "torn" in caplog.text
    again.append(_rec(4))
    assert _drain(again) == [0, 1, 2, 4]


def test_full_spool_refuses_loudly_but_keeps_control_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path, max_bytes=64 * 1024, fsync=False, loud_every_s=3600)
    size = len(encode_record(_rec(0, pad=1000)))
    fits = (64 * 1024) // size
    with caplog.at_level(logging.ERROR):
        results = [spool.append(_rec(i, pad=1000), rows=10) for i in range(fits + 5)]
    assert results == [True] * fits + [False] * 5
    assert spool.full and spool.dropped_records == 5 and spool.dropped_rows == 50
    assert sum("SPOOL FULL" in r.getMessage() for r in caplog.records) == 1  # rate-limited
    assert spool.append({"kind": "alert", "change": {"key": "k"}})  # the reserve
    assert _drain(spool) == [*range(fits), "alert"]
    assert not spool.full


def test_spool_of_another_database_is_refused(tmp_path: Path) -> None:
    s = Spool(tmp_path, owner="postgresql://a/db", fsync=False)
    s.append(_rec(0))
    s.close()
    with pytest.raises(StoreError, match="unreplayed records for postgresql://a/db"):
        Spool(tmp_path, owner="sqlite:///other.db", fsync=False)


def test_rejected_records_are_kept_aside(tmp_path: Path) -> None:
    s = Spool(tmp_path, fsync=False)
    s.reject(_rec(7), "duplicate key")
    line = (tmp_path / "rejected.jsonl").read_text()
    assert '"reason": "duplicate key"' in line and '"i": 7' in line


@pytest.mark.parametrize(("exc", "outage"), [
    (OperationalError("INSERT", {}, Exception("connection refused")), True),
    (OperationalError("INSERT", {}, Exception("database is locked")), True),
    (OperationalError("INSERT", {}, Exception("no such table: observations")), False),
    (IntegrityError("INSERT", {}, Exception("NOT NULL constraint failed")), False),
    (ConnectionRefusedError(111, "refused"), True),
    (ValueError("naive datetime"), False),
])
def test_outage_classification(exc: BaseException, outage: bool) -> None:
    assert is_outage(exc) is outage
    wrapped = StoreError("cannot register source")
    wrapped.__cause__ = exc
    assert is_outage(wrapped) is outage

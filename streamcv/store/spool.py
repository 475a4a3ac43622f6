"""A bounded, crash-safe, ordered on-disk spool for rows the database could not take.

While the results database is unreachable, the store writer appends each batch (and other
records: source registrations, alert changes, run completions) to the spool instead, and replays
them in order once the database answers again. The spool survives a restart of the daemon: the
next writer that opens the same folder replays what is left (each record names its own run).

Layout of the folder: ``seg-000000000001.spool`` ... append-only segment files of framed records
(4-byte big-endian length, 4-byte CRC-32, UTF-8 JSON), ``cursor.json`` (the replay position,
replaced atomically), ``meta.json`` (which database the spool belongs to) and ``rejected.jsonl``
(records the database refused for a reason other than being unreachable; kept for operators).
A record torn by a crash mid-append fails its CRC and is cut off when the spool is opened.

The spool is bounded by ``max_bytes``; when full, new data records are refused (counted and
logged loudly, at most every ``loud_every_s`` seconds) so memory and disk stay bounded. Small
control records (alert changes, run completions, source registrations) may use a reserve of
``max_bytes // 64`` beyond the bound so an outage never loses an alert. The spool
has room again below 90 % of the bound.

Example:
    >>> import tempfile
    >>> from datetime import UTC, datetime
    >>> d = tempfile.mkdtemp()
    >>> spool = Spool(d, max_bytes=1 << 20)
    >>> spool.append({"kind": "rows", "ts": datetime(2026, 1, 1, tzinfo=UTC)})
    True
    >>> [(rec["kind"], rec["ts"].year) for _, rec in spool.read(10)]
    [('rows', 2026)]
    >>> pos, _ = spool.read(1)[0]
    >>> spool.commit(pos); spool.pending_records
    0
"""

from __future__ import annotations

import base64
import json
import logging
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from streamcv.errors import StoreError

__all__ = ["Spool", "SpoolPosition", "encode_record", "decode_record", "CONTROL_KINDS"]

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">II")
_SEGMENT_GLOB = "seg-*.spool"
#: Record kinds allowed into the reserve beyond ``max_bytes`` (small, and must not be lost).
CONTROL_KINDS = frozenset({"alert", "finish_run", "source"})


@dataclass(frozen=True, order=True)
class SpoolPosition:
    """A place in the spool: segment number and byte offset within it."""

    segment: int
    offset: int


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"__dt__": value.isoformat()}
    if isinstance(value, bytes | bytearray | memoryview):  # heat-map grids, JPEG references
        return {"__b64__": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"cannot spool a value of type {type(value).__name__}")


def _hook(d: dict[str, Any]) -> Any:
    if len(d) == 1 and "__dt__" in d:
        return datetime.fromisoformat(d["__dt__"])
    if len(d) == 1 and "__b64__" in d:
        return base64.b64decode(d["__b64__"])
    return d


def encode_record(record: dict[str, Any]) -> bytes:
    """One framed record (datetimes kept, aware or naive, through a tagged JSON form)."""
    payload = json.dumps(record, default=_default, separators=(",", ":"),
                         allow_nan=False).encode("utf-8")
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def decode_record(payload: bytes) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(payload.decode("utf-8"), object_hook=_hook)
    return out


def _seg_name(n: int) -> str:
    return f"seg-{n:012d}.spool"


class Spool:
    """Ordered records on disk, bounded by size, replayed from a persistent cursor.

    Thread-safe: any thread may :meth:`append`; one consumer thread calls :meth:`read` and
    :meth:`commit` (the store writer).

    Args:
        directory: the spool folder (created when missing).
        max_bytes: most bytes of unreplayed records kept; beyond it data records are refused.
        segment_bytes: a new segment file is started past this size.
        fsync: ``fsync`` every append (survives power loss, not only a crash of the process).
        owner: what the spool belongs to (the database URL without password); a spool made for
            another database is refused with a clear error instead of being replayed there.
        loud_every_s: repeat the "spool full" error at most this often.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        max_bytes: int = 512 << 20,
        segment_bytes: int = 8 << 20,
        fsync: bool = True,
        owner: str | None = None,
        loud_every_s: float = 10.0,
    ) -> None:
        if max_bytes < 1024 or segment_bytes < 1024:
            raise ValueError(f"max_bytes and segment_bytes must be >= 1024, got {max_bytes}, "
                             f"{segment_bytes}")
        self.dir = Path(directory).expanduser()
        self.max_bytes = int(max_bytes)
        self.reserve = self.max_bytes // 64
        self.segment_bytes = int(segment_bytes)
        self.fsync = fsync
        self.loud_every_s = loud_every_s
        self._lock = threading.RLock()
        self.dropped_records = 0
        self.dropped_rows = 0
        self.appended = 0
        self.replayed = 0
        self.rejected = 0
        self._last_loud = -1e9
        self._fd: int | None = None
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._check_owner(owner)
            self._recover()
        except OSError as exc:
            raise StoreError(f"cannot use spool folder {self.dir}: {exc}") from exc

    # state -----------------------------------------------------------------------------------
    @property
    def pending_records(self) -> int:
        """Records appended and not yet committed as replayed."""
        with self._lock:
            return self._pending

    @property
    def pending_bytes(self) -> int:
        with self._lock:
            return self._bytes

    @property
    def full(self) -> bool:
        """True since the last refused append, until the spool has room again."""
        with self._lock:
            return self._full

    def __len__(self) -> int:
        return self.pending_records

    # opening ---------------------------------------------------------------------------------
    def _check_owner(self, owner: str | None) -> None:
        meta = self.dir / "meta.json"
        if owner is None:
            return
        if meta.exists():
            try:
                known = json.loads(meta.read_text()).get("owner")
            except (ValueError, OSError):
                known = None
            if known is not None and known != owner and any(self.dir.glob(_SEGMENT_GLOB)):
                raise StoreError(
                    f"spool folder {self.dir} holds unreplayed records for {known}, not {owner}; "
                    "point spool.dir elsewhere or replay it against that database first"
                )
        self._atomic_write(meta, json.dumps({"owner": owner}))

    def _segments(self) -> list[int]:
        return sorted(int(p.name[4:-6]) for p in self.dir.glob(_SEGMENT_GLOB))

    def _recover(self) -> None:
        segs = self._segments()
        cursor = self._load_cursor()
        if cursor is None or (segs and cursor.segment < segs[0]):
            cursor = SpoolPosition(segs[0] if segs else 1, 0)
        for n in segs:  # fully replayed segments left by a crash between commit and unlink
            if n < cursor.segment:
                (self.dir / _seg_name(n)).unlink(missing_ok=True)
        segs = [n for n in segs if n >= cursor.segment]
        pending, nbytes = 0, 0
        for n in segs:
            start = cursor.offset if n == cursor.segment else 0
            good_end, count = self._scan(self.dir / _seg_name(n), start)
            size = (self.dir / _seg_name(n)).stat().st_size
            if good_end < size:
                log.warning("spool %s: cutting %d torn/corrupt bytes off %s (a crash mid-write)",
                            self.dir, size - good_end, _seg_name(n))
                with open(self.dir / _seg_name(n), "r+b") as fh:
                    fh.truncate(good_end)
            pending += count
            nbytes += good_end - start
        self._cursor = cursor
        self._pending, self._bytes, self._full = pending, nbytes, False
        self._active = segs[-1] if segs else cursor.segment
        self._read_pos = cursor
        if pending:
            log.warning("spool %s: %d record(s) (%d bytes) left from an earlier run will be "
                        "replayed", self.dir, pending, nbytes)

    @staticmethod
    def _scan(path: Path, start: int) -> tuple[int, int]:
        """(end of the last intact record, number of intact records) from ``start``."""
        count = 0
        with open(path, "rb") as fh:
            fh.seek(start)
            pos = start
            while True:
                head = fh.read(_HEADER.size)
                if len(head) < _HEADER.size:
                    return pos, count
                size, crc = _HEADER.unpack(head)
                payload = fh.read(size)
                if len(payload) < size or zlib.crc32(payload) != crc:
                    return pos, count
                pos += _HEADER.size + size
                count += 1

    def _load_cursor(self) -> SpoolPosition | None:
        path = self.dir / "cursor.json"
        try:
            doc = json.loads(path.read_text())
            return SpoolPosition(int(doc["segment"]), int(doc["offset"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, OSError) as exc:
            log.error("spool %s: unreadable cursor (%s); replaying from the oldest segment",
                      self.dir, exc)
            return None

    def _atomic_write(self, path: Path, text: str) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            if self.fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)

    # appending -------------------------------------------------------------------------------
    def append(self, record: dict[str, Any], *, rows: int = 0) -> bool:
        """Append ``record`` (a JSON-able dict; datetimes allowed) durably.

        Returns:
            False when the spool is full and the record was refused (counted, logged).
        """
        blob = encode_record(record)
        with self._lock:
            limit = self.max_bytes + (self.reserve if record.get("kind") in CONTROL_KINDS else 0)
            if self._bytes + len(blob) > limit:
                self._full = True
                self.dropped_records += 1
                self.dropped_rows += rows
                now = time.monotonic()
                if now - self._last_loud >= self.loud_every_s:
                    self._last_loud = now
                    log.error(
                        "SPOOL FULL: %s holds %d bytes (limit %d) while the database is "
                        "unreachable; DROPPING new results (%d record(s), %d row(s) dropped so "
                        "far). Restore the database or raise spool.max_bytes.",
                        self.dir, self._bytes, self.max_bytes, self.dropped_records,
                        self.dropped_rows)
                return False
            try:
                fd = self._writable(len(blob))
                os.write(fd, blob)
                if self.fsync:
                    os.fsync(fd)
            except OSError as exc:
                self.dropped_records += 1
                self.dropped_rows += rows
                log.error("spool %s: cannot append (%s); record dropped", self.dir, exc)
                return False
            self._pending += 1
            self._bytes += len(blob)
            self.appended += 1
            return True

    def _writable(self, size: int) -> int:
        if self._fd is None:
            self._fd = os.open(self.dir / _seg_name(self._active),
                               os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        now = os.fstat(self._fd).st_size
        if now > 0 and now + size > self.segment_bytes:
            os.close(self._fd)
            self._fd = None
            self._active += 1
            self._fd = os.open(self.dir / _seg_name(self._active),
                               os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return self._fd

    # replaying -------------------------------------------------------------------------------
    def read(self, limit: int) -> list[tuple[SpoolPosition, dict[str, Any]]]:
        """Up to ``limit`` oldest records not yet committed, each with the position after it."""
        out: list[tuple[SpoolPosition, dict[str, Any]]] = []
        with self._lock:
            pos = self._cursor
            active = self._active
        while len(out) < limit and pos.segment <= active:
            path = self.dir / _seg_name(pos.segment)
            if not path.exists():
                if pos.segment >= active:
                    break
                pos = SpoolPosition(pos.segment + 1, 0)
                continue
            pos = self._read_segment(path, pos, limit - len(out), out)
            if len(out) < limit:
                if pos.segment >= active:
                    break
                pos = SpoolPosition(pos.segment + 1, 0)
        return out

    @staticmethod
    def _read_segment(path: Path, pos: SpoolPosition, limit: int,
                      out: list[tuple[SpoolPosition, dict[str, Any]]]) -> SpoolPosition:
        with open(path, "rb") as fh:
            fh.seek(pos.offset)
            for _ in range(limit):
                head = fh.read(_HEADER.size)
                if len(head) < _HEADER.size:
                    break
                size, crc = _HEADER.unpack(head)
                payload = fh.read(size)
                if len(payload) < size or zlib.crc32(payload) != crc:
                    break  # a record being appended right now, or torn: stop here
                pos = SpoolPosition(pos.segment, pos.offset + _HEADER.size + size)
                out.append((pos, decode_record(payload)))
        return pos

    def commit(self, position: SpoolPosition, *, count: int = 1) -> None:
        """Mark every record before ``position`` replayed (``count`` of them since last time)."""
        with self._lock:
            old = self._cursor
            if position <= old:
                return
            consumed = self._consumed_bytes(old, position)
            self._cursor = position
            self._pending = max(0, self._pending - count)
            self._bytes = max(0, self._bytes - consumed)
            self.replayed += count
            if self._full and self._bytes < self.max_bytes * 0.9:
                self._full = False
                log.warning("spool %s has room again (%d bytes pending)", self.dir, self._bytes)
            self._atomic_write(self.dir / "cursor.json",
                               json.dumps({"segment": position.segment,
                                           "offset": position.offset}))
            for n in range(old.segment, position.segment):
                if n != self._active:
                    (self.dir / _seg_name(n)).unlink(missing_ok=True)
            if self._pending == 0 and self._active == position.segment:
                self._restart_empty()

    def _consumed_bytes(self, old: SpoolPosition, new: SpoolPosition) -> int:
        if old.segment == new.segment:
            return new.offset - old.offset
        total = 0
        for n in range(old.segment, new.segment):
            try:
                size = (self.dir / _seg_name(n)).stat().st_size
            except FileNotFoundError:
                size = 0
            total += size - (old.offset if n == old.segment else 0)
        return total + new.offset

    def _restart_empty(self) -> None:
        """Everything replayed: start a fresh segment so the files do not grow forever."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        (self.dir / _seg_name(self._active)).unlink(missing_ok=True)
        self._active += 1
        self._cursor = SpoolPosition(self._active, 0)
        self._bytes = 0
        self._atomic_write(self.dir / "cursor.json",
                           json.dumps({"segment": self._active, "offset": 0}))

    def reject(self, record: dict[str, Any], reason: str) -> None:
        """Keep a record the database refused (not an outage) in ``rejected.jsonl``."""
        with self._lock:
            self.rejected += 1
            line = json.dumps({"reason": reason, "record": record}, default=_default)
            with open(self.dir / "rejected.jsonl", "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        log.error("spool %s: the database refused a %s record (%s); kept in rejected.jsonl",
                  self.dir, record.get("kind"), reason)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

"""A loopback HTTP server's state: byte blobs served with optional Range support (like a CDN),
and the requests it saw."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BlobServer:
    url: str
    blobs: dict[str, bytes]
    ranges: bool = True
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    cut_after: int | None = None  # close the connection after this many body bytes

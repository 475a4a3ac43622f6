"""A loopback HTTP server's state: byte blobs served with optional Range support (like a CDN),
and the requests it saw."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class BlobServer:
    url: str
    blobs: dict[str, bytes]
    ranges: bool = True
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    cut_after: int | None = None  # close the connection after this many body bytes

    def serve_npm_tarball(self, package: str, version: str, members: dict[str, Path]) -> None:
        """Play the npm registry for ``package@version``: its registry JSON (tarball URL and
        sha512 integrity) and a .tgz holding ``members`` (archive path → local file)."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tf:
            for member, path in members.items():
                tf.add(path, member)
        tgz = buf.getvalue()
        scope, _, name = package.rpartition("/")
        tarball = f"/npm/{package}/-/{name}-{version}.tgz"
        self.blobs[f"/npm/{scope.replace('/', '%2F')}%2F{name}/{version}" if scope
                   else f"/npm/{name}/{version}"] = json.dumps({"dist": {
                       "tarball": f"{self.url}{tarball}",
                       "integrity": "sha512-" + base64.b64encode(
                           hashlib.sha512(tgz).digest()).decode(),
                   }}).encode()
        self.blobs[tarball] = tgz

"""Fixtures for the model registry tests: a loopback HTTP server that serves byte blobs with
optional Range support (like a CDN) and records requests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from blobkit import BlobServer


@pytest.fixture
def blob_server() -> Iterator[BlobServer]:
    state = BlobServer("", {})

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            rng = self.headers.get("Range")
            state.requests.append((self.path, rng))
            body = state.blobs.get(self.path)
            if body is None:
                self.send_error(404, "not found")
                return
            start = 0
            if rng and state.ranges:
                start = int(rng.split("=")[1].split("-")[0])
                if start >= len(body):
                    self.send_error(416, "range not satisfiable")
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            part = body[start:]
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            if state.cut_after is not None:
                self.wfile.write(part[: state.cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(part)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    state.url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        yield state
    finally:
        srv.shutdown()
        srv.server_close()

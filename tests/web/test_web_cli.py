"""``streamcv serve`` as a user starts it: a process serving the replayed database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from dashkit import SOURCE, Replayed

TOKEN = "cli-token-0123456789abcdef"


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "streamcv", "-v", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "dashboard on http://" in line:
            return proc, line.split(" on ")[1].split()[0].rstrip("/")
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"serve did not start: {proc.stdout.read()}")


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=15)
    return out


def test_serve_with_a_token_from_the_environment(replayed: Replayed, tmp_path: Path) -> None:
    env = {**os.environ, "STREAMCV_UI_TOKEN": TOKEN, "STREAMCV_DB": replayed.url}
    proc, url = _start(["--listen", "127.0.0.1:0"], env)
    try:
        assert url.startswith("http://127.0.0.1:")
        try:
            urllib.request.urlopen(url + "/api/sources", timeout=10)
            raise AssertionError("served without the token")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        req = urllib.request.Request(url + "/api/sources",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            names = [s["name"] for s in json.load(r)["sources"]]
        assert names == [SOURCE]
    finally:
        out = _stop(proc)
    assert TOKEN not in out

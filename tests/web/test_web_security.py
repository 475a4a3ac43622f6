"""The dashboard's security rules: token, CSRF on acknowledging, same origin, snapshot paths
(``..``, absolute paths, symlinks), headers, and that the token never reaches the logs."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from dashkit import SOURCE, Replayed
from starlette.testclient import TestClient

from streamcv.errors import ConfigError
from streamcv.query import query
from streamcv.web.app import create_app
from streamcv.web.security import SESSION_COOKIE, check_listen, safe_path

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.mark.parametrize(("listen", "token", "error"), [
    ("127.0.0.1:8080", None, None),
    ("localhost:0", None, None),
    ("[::1]:8080", None, None),
    ("0.0.0.0:8080", TOKEN, None),
    ("0.0.0.0:8080", None, "not a loopback address: give --token"),
    ("192.168.1.5:80", None, "not a loopback address"),
    ("[::]:8080", None, "not a loopback address"),
    ("127.0.0.1:8080", "short", "at least 16 characters"),
    ("127.0.0.1", None, "must be HOST:PORT"),
    ("127.0.0.1:99999", None, "must be HOST:PORT"),
])
def test_listen_rules(listen: str, token: str | None, error: str | None) -> None:
    if error is None:
        check_listen(listen, token)
    else:
        with pytest.raises(ConfigError, match=error):
            check_listen(listen, token)


# acknowledging ---------------------------------------------------------------------------------
def _csrf(c: TestClient) -> str:
    c.get("/alerts")
    token = c.cookies.get("streamcv_csrf")
    assert token
    return token


def test_ack_needs_csrf_and_same_origin_then_follows_the_alerts_lifecycle(
        writable: Replayed) -> None:
    with TestClient(create_app(writable.url)) as c:
        r = c.post("/api/alerts/1/ack", json={"by": "eve"})
        assert r.status_code == 403 and "CSRF" in r.json()["error"]
        csrf = _csrf(c)
        r = c.post("/api/alerts/1/ack", json={}, headers={"X-CSRF-Token": csrf + "x"})
        assert r.status_code == 403
        for origin in ("http://evil.example", "null"):
            r = c.post("/api/alerts/1/ack", json={}, headers={"X-CSRF-Token": csrf,
                                                              "Origin": origin})
            assert r.status_code == 403 and "cross-origin" in r.json()["error"]
        r = c.post("/api/alerts/1/ack", json={}, headers={
            "X-CSRF-Token": csrf, "Referer": "http://evil.example/page"})
        assert r.status_code == 403
        assert query("alerts", db=writable.url)["acked_at"].isna().all()  # nothing written

        r = c.post("/api/alerts/1/ack", json={"by": "ops", "note": "checked"},
                   headers={"X-CSRF-Token": csrf, "Origin": "http://testserver"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["acked_by"] == "ops" and body["already"] is False
        again = c.post("/api/alerts/1/ack", data={"csrf": csrf, "by": "someone else"})
        assert again.status_code == 200 and again.json()["already"] is True
        assert again.json()["acked_by"] == "ops"  # the first acknowledgement stays
        assert c.post("/api/alerts/7/ack", json={}, headers={"X-CSRF-Token": csrf}
                      ).status_code == 404
        assert c.post("/api/alerts/x/ack", json={}, headers={"X-CSRF-Token": csrf}
                      ).status_code == 400
        assert c.post("/api/alerts/1/ack", content=b"{nope", headers={
            "X-CSRF-Token": csrf, "Content-Type": "application/json"}).status_code == 400
        assert c.post("/api/alerts/1/ack", json={"by": "x" * 101},
                      headers={"X-CSRF-Token": csrf}).status_code == 400
        listed = c.get("/api/alerts?acked=yes").json()["alerts"]
        assert [a["acked_by"] for a in listed] == ["ops"]
    row = query("alerts", db=writable.url).iloc[0]
    assert row["acked_by"] == "ops" and row["acked_at"] is not None


# token -----------------------------------------------------------------------------------------
def test_token_guards_every_page_and_endpoint(replayed: Replayed,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(replayed.url, token=TOKEN)) as c:
        for url in ("/api/sources", f"/api/sources/{SOURCE}/series?table=frames",
                    f"/api/heatmap.png?source={SOURCE}", "/api/alerts", "/live/x.jpg",
                    f"/snapshots/{SOURCE}/x.jpg"):
            r = c.get(url)
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert c.post("/api/alerts/1/ack", json={}).status_code == 401
        r = c.get("/alerts", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/alerts"
        assert c.get("/static/app.js").status_code == 200  # the login page needs it
        assert c.get("/api/sources", headers={"Authorization": "Bearer wrong"}
                     ).status_code == 401
        ok = c.get("/api/sources", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json()["sources"]

        bad = c.post("/login", data={"token": "wrong", "next": "/alerts"})
        assert bad.status_code == 401 and "wrong token" in bad.text
        r = c.post("/login", data={"token": TOKEN, "next": "/alerts"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/alerts"
        session = c.cookies.get(SESSION_COOKIE)
        assert session and TOKEN not in session
        assert "httponly" in r.headers["set-cookie"].lower()
        assert c.get("/api/sources").status_code == 200
        assert c.get("/alerts").status_code == 200
        # a sign-in cannot send the browser to another site
        r = c.post("/login", data={"token": TOKEN, "next": "//evil.example/x"},
                   follow_redirects=False)
        assert r.headers["location"] == "/"
    assert TOKEN not in caplog.text


def test_serve_refuses_a_public_address_without_token(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from streamcv.cli import main

    monkeypatch.delenv("STREAMCV_UI_TOKEN", raising=False)
    db = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["serve", "--db", db, "--listen", "0.0.0.0:0"]) == 2
    err = capsys.readouterr().err
    assert "error: --listen 0.0.0.0:0 is not a loopback address" in err
    assert main(["serve", "--db", db, "--token", "short"]) == 2
    assert "at least 16 characters" in capsys.readouterr().err
    assert main(["serve", "--db", db, "--listen", "nonsense"]) == 2


# snapshots ----------------------------------------------------------------------------------------
@pytest.fixture
def snap_root(tmp_path: Path) -> Path:
    root = tmp_path / "snaps"
    (root / "cam").mkdir(parents=True)
    (root / "cam" / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    (root / "cam" / "notes.txt").write_text("not a picture")
    (tmp_path / "secret.jpg").write_bytes(b"\xff\xd8\xff secret")
    os.symlink(tmp_path / "secret.jpg", root / "cam" / "link.jpg")
    os.symlink(tmp_path, root / "up")
    os.symlink(root / "cam" / "a.jpg", root / "cam" / "inside.jpg")
    return root


@pytest.mark.parametrize(("rel", "ok"), [
    ("cam/a.jpg", True), ("cam/inside.jpg", True), ("cam/../cam/a.jpg", True),
    ("../secret.jpg", False), ("cam/../../secret.jpg", False), ("cam/link.jpg", False),
    ("up/secret.jpg", False), ("/etc/passwd", False), ("cam", False), ("", False),
    ("cam/missing.jpg", False), ("cam/a.jpg\x00.png", False),
])
def test_safe_path(snap_root: Path, rel: str, ok: bool) -> None:
    got = safe_path(snap_root, rel)
    assert (got is not None) == ok, (rel, got)


@pytest.mark.parametrize(("url", "status"), [
    ("/snapshots/cam/a.jpg", 200),
    ("/snapshots/cam/%2e%2e/%2e%2e/secret.jpg", 404),
    ("/snapshots/..%2fsecret.jpg", 404),
    ("/snapshots/%2Fetc%2Fpasswd", 404),
    ("/snapshots//etc/passwd", 404),
    ("/snapshots/cam/link.jpg", 404),
    ("/snapshots/up/secret.jpg", 404),
    ("/snapshots/cam/notes.txt", 404),
    ("/snapshots/cam/%00.jpg", 404),
])
def test_snapshots_are_served_only_from_the_snapshot_folder(
        replayed: Replayed, snap_root: Path, url: str, status: int) -> None:
    with TestClient(create_app(replayed.url, snapshot_dir=snap_root)) as c:
        r = c.get(url)
        assert r.status_code == status, (url, r.text[:200])
        if status == 200:
            assert r.content.startswith(b"\xff\xd8") and r.headers["content-type"] == "image/jpeg"
        else:
            assert b"\xff\xd8" not in r.content and r.json()["error"].startswith("no snapshot")


def test_security_headers_and_csrf_cookie(client: Any) -> None:
    r = client.get("/")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "unsafe-inline" not in r.headers["content-security-policy"].split("script-src")[1]
    cookie = r.headers.get("set-cookie", "") or "streamcv_csrf already set"
    assert "streamcv_csrf" in cookie
    assert "samesite=strict" in cookie.lower() or "already" in cookie


def test_pages_only_read_the_database(replayed: Replayed) -> None:
    before = replayed.path.stat().st_mtime_ns, replayed.path.read_bytes()
    with TestClient(create_app(replayed.url)) as c:
        for url in ("/", "/api/sources", f"/api/sources/{SOURCE}", "/api/alerts", "/api/runs",
                    f"/api/heatmap.png?source={SOURCE}", "/api/demographics"):
            assert c.get(url).status_code == 200
    assert (replayed.path.stat().st_mtime_ns, replayed.path.read_bytes()) == before

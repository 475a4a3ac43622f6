"""The dashboard's security rules: token, CSRF, same origin, safe snapshot paths, headers.

- **Token**: with a token set, every request needs ``Authorization: Bearer <token>`` or the
  session cookie that ``POST /login`` sets (an HMAC of the token, never the token itself).
  Tokens are compared in constant time and never logged; a non-loopback address needs one
  (:func:`check_listen`), the same rule as the daemon's ``/metrics``.
- **CSRF**: a state-changing request (POST) must come from the same origin (``Origin`` or
  ``Referer`` host = ``Host``) and carry the ``streamcv_csrf`` cookie's value in the
  ``X-CSRF-Token`` header or a ``csrf`` form field (double submit: another site can make the
  browser send the cookie but cannot read it).
- **Snapshots** are served only from the snapshot folder: :func:`safe_path` resolves the path
  (symlinks included) and refuses anything outside it.

Example:
    >>> check_listen("127.0.0.1:8080", None)
    ('127.0.0.1', 8080)
    >>> check_listen("0.0.0.0:8080", None)
    Traceback (most recent call last):
    ...
    streamcv.errors.ConfigError: --listen 0.0.0.0:8080 is not a loopback address: give ...
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request

from streamcv.config.daemon import is_loopback, parse_listen
from streamcv.errors import ConfigError

__all__ = ["check_listen", "TokenAuth", "safe_path", "same_origin", "csrf_ok", "new_csrf",
           "CSRF_COOKIE", "CSRF_HEADER", "SESSION_COOKIE", "SECURITY_HEADERS", "TOKEN_ENV",
           "MIN_TOKEN_LENGTH"]

CSRF_COOKIE = "streamcv_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_COOKIE = "streamcv_session"
TOKEN_ENV = "STREAMCV_UI_TOKEN"
MIN_TOKEN_LENGTH = 16
#: Sent with every response.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "style-src 'self' 'unsafe-inline'; script-src 'self'; "
                               "object-src 'none'; frame-ancestors 'none'; base-uri 'none'",
}


def check_listen(listen: str, token: str | None) -> tuple[str, int]:
    """``HOST:PORT`` → ``(host, port)``, refusing a non-loopback host without a token and a
    token shorter than :data:`MIN_TOKEN_LENGTH`.

    Raises:
        ConfigError: the address is malformed, or the token rules are broken.
    """
    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise ConfigError(str(exc).replace("health.listen", "--listen")) from exc
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"the dashboard token must have at least {MIN_TOKEN_LENGTH} "
                          "characters")
    if not is_loopback(host) and not token:
        raise ConfigError(f"--listen {listen} is not a loopback address: give --token (or "
                          f"${TOKEN_ENV}), at least {MIN_TOKEN_LENGTH} characters, so that the "
                          "dashboard needs it")
    return host, port


class TokenAuth:
    """Checks requests against a token (``None``: every request passes)."""

    def __init__(self, token: str | None) -> None:
        self.enabled = bool(token)
        raw = (token or "").encode()
        self._bearer = b"Bearer " + raw
        self._raw = raw
        # the cookie holds a keyed hash of the token, so that a leaked cookie is not the token
        self._session = hmac.new(raw, b"streamcv-dashboard-session", hashlib.sha256).hexdigest()

    def token_ok(self, given: str) -> bool:
        """Whether ``given`` is the token (constant time)."""
        return self.enabled and hmac.compare_digest(given.encode(), self._raw)

    @property
    def session_value(self) -> str:
        """The session cookie's value after a successful login."""
        return self._session

    def allowed(self, request: Request) -> bool:
        """Whether the request carries the bearer token or the session cookie."""
        if not self.enabled:
            return True
        header = request.headers.get("authorization", "").encode()
        if header and hmac.compare_digest(header, self._bearer):
            return True
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self._session.encode())


def new_csrf() -> str:
    """A fresh CSRF cookie value."""
    return secrets.token_urlsafe(24)


def same_origin(request: Request) -> bool:
    """Whether ``Origin`` (or, without it, ``Referer``) names this server's host. A request
    without either (a script, ``curl``) passes: browsers send ``Origin`` on cross-site POSTs."""
    host = request.headers.get("host", "")
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc == host


def csrf_ok(request: Request, form_value: str | None = None) -> bool:
    """Double-submit check: the CSRF cookie equals the header (or form field) value."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = request.headers.get(CSRF_HEADER) or form_value or ""
    return bool(cookie) and bool(given) and hmac.compare_digest(cookie.encode(), given.encode())


def safe_path(root: Path, relative: str) -> Path | None:
    """``root / relative`` if it is an existing file inside ``root`` once resolved (``..``,
    absolute paths and symlinks that leave ``root`` give ``None``)."""
    if not relative or "\x00" in relative or relative.startswith(("/", "\\")):
        return None
    base = root.resolve()
    try:
        target = (base / relative).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target

"""Reading request parameters with clear 4xx errors (never a 500 for bad input)."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request

from streamcv.errors import QueryError
from streamcv.timeparse import parse_time

__all__ = ["BadRequest", "NotFound", "int_param", "time_param", "choice_param", "str_param"]


class BadRequest(QueryError):
    """A parameter is missing or invalid (HTTP 400)."""


class NotFound(LookupError):
    """The thing asked for does not exist (HTTP 404)."""


def str_param(request: Request, name: str, *, max_len: int = 200) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if len(value) > max_len:
        raise BadRequest(f"{name}: at most {max_len} characters")
    return value


def int_param(request: Request, name: str, default: int | None = None, *, lo: int = 0,
              hi: int = 2**62) -> int | None:
    """An integer query parameter in ``[lo, hi]``."""
    text = str_param(request, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name}: expected an integer, got {text!r}") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{name}: must be between {lo} and {hi}, got {value}")
    return value


def time_param(request: Request, name: str) -> datetime | None:
    """A time query parameter (ISO, ``-1h``, ``today``, ...)."""
    text = str_param(request, name)
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError as exc:
        raise BadRequest(f"{name}: {exc}") from exc


def choice_param(request: Request, name: str, choices: tuple[str, ...]) -> str | None:
    text = str_param(request, name)
    if text is not None and text not in choices:
        raise BadRequest(f"{name}: must be one of {', '.join(choices)}, got {text!r}")
    return text

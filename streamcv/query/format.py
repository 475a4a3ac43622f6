"""Rendering query results as an aligned text table, CSV, JSON or MOT (tracked boxes).

Timestamps are written in ISO 8601 with their UTC offset (CSV/JSON: one precision per column,
so ``pandas.to_datetime`` parses a column without a format); missing values are empty in CSV,
``null`` in JSON and blank in tables; dict/list cells (event data, detection extras) are JSON.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ts": pd.to_datetime(["2026-01-01T00:00:00Z"]), "n": [3]})
    >>> print(render(df, "csv"), end="")
    ts,n
    2026-01-01T00:00:00+00:00,3
    >>> render(df, "json")
    '[{"ts": "2026-01-01T00:00:00+00:00", "n": 3}]'
    >>> print(render(df, "table"))
    ts                         n
    2026-01-01T00:00:00+00:00  3
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from streamcv.errors import QueryError
from streamcv.query.mot import mot_export

__all__ = ["Format", "render"]


class Format(StrEnum):
    """Output formats of :func:`render`."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    MOT = "mot"


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)):
        return math.isnan(float(v))
    return False


def _plain(v: Any) -> Any:
    """A JSON-ready Python value for one cell."""
    if _is_missing(v):
        return None
    if isinstance(v, (pd.Timestamp, datetime, date)):
        return v.isoformat()
    if isinstance(v, np.generic):
        return _plain(v.item())
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_plain(x) for x in v]
    return v


def _text(v: Any) -> str:
    """The text of one cell for CSV and tables."""
    p = _plain(v)
    if p is None:
        return ""
    if isinstance(p, (dict, list)):
        return json.dumps(p, separators=(",", ":"))
    if isinstance(p, bool):
        return "true" if p else "false"
    if isinstance(p, float):
        return repr(p)
    return str(p)


def _iso_times(df: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns as ISO text, one precision per column (seconds unless a value has a
    fraction, then microseconds for all), so that readers parse a column with one format."""
    out = df.copy()
    for col in df.columns:
        series = df[col]
        if not pd.api.types.is_datetime64_any_dtype(series):
            continue
        fractional = bool(((series.dt.microsecond != 0) | (series.dt.nanosecond != 0)).any())
        spec = "microseconds" if fractional else "seconds"
        out[col] = pd.Series(
            [None if pd.isna(v) else v.isoformat(timespec=spec) for v in series],
            index=df.index, dtype=object,
        )
    return out


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [str(c) for c in df.columns]
    return [
        {c: _plain(v) for c, v in zip(cols, row, strict=True)}
        for row in df.itertuples(index=False, name=None)
    ]


def _csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([str(c) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        w.writerow([_text(v) for v in row])
    return buf.getvalue()


def _table_cell(v: Any) -> str:
    p = _plain(v)
    if isinstance(p, float):
        return f"{p:.6g}"
    return _text(v)


def _is_number_column(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _table(df: pd.DataFrame, *, numeric: list[bool]) -> str:
    header = [str(c) for c in df.columns]
    body = [[_table_cell(v) for v in row] for row in df.itertuples(index=False, name=None)]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w)
                 for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    lines = [line(header), *(line(r) for r in body)]
    if not body:
        lines.append("(no rows)")
    return "\n".join(lines)


def render(df: pd.DataFrame, fmt: str | Format = Format.TABLE) -> str:
    """Render a query result.

    Args:
        df: a DataFrame from :func:`~streamcv.query.query`.
        fmt: ``table`` (aligned text for people), ``csv`` (header row, then rows), ``json``
            (an array of records) or ``mot`` (MOTChallenge lines of the tracked boxes of a
            ``detections`` result; see :func:`~streamcv.query.mot.mot_export`).

    Returns:
        The text; CSV and MOT end with a newline (MOT without rows is empty), table and JSON
        do not.

    Raises:
        ValueError: unknown format, or ``mot`` for rows it cannot export.
    """
    try:
        kind = Format(fmt)
    except ValueError:
        valid = ", ".join(f.value for f in Format)
        raise QueryError(f"unknown format {fmt!r}; valid: {valid}") from None
    if kind is Format.MOT:
        return mot_export(df).text()
    text = _iso_times(df)
    if kind is Format.TABLE:
        return _table(text, numeric=[_is_number_column(df[c]) for c in df.columns])
    if kind is Format.CSV:
        return _csv(text)
    return json.dumps(_records(text), allow_nan=False)

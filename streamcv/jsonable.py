"""Plain JSON values from what stages and the store produce (numpy, Fractions, datetimes, NaN).

Example:
    >>> import numpy as np
    >>> from fractions import Fraction
    >>> jsonable({"n": np.int64(3), "xy": np.array([0.5, float("nan")]),
    ...           "fps": Fraction(30000, 1001)})
    {'n': 3, 'xy': [0.5, None], 'fps': '30000/1001'}
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """Convert ``value`` to plain JSON types (numpy scalars/arrays, Fractions, datetimes, NaN)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, Path):
        return str(value)
    return json.loads(json.dumps(value, default=str))

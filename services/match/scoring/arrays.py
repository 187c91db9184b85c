"""What lets one formula score one pair in Python numbers and a candidate set in NumPy columns.

Each factor and hard constraint is written once, with Python operators and the three helpers
below. Called with plain numbers (``score_pair``) it runs as ordinary Python, as fast as before
and without allocating arrays; called with columns (the index) the same text broadcasts over
every candidate row at once. One side may be numbers and the other columns: a seeker's desired
wage against the wage columns of a thousand postings is one call.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

# A number for one pair, or a column with one value per candidate row.
Num = float | npt.NDArray[Any]
# A code or a bitmask for one pair, or a column of them.
Int = int | npt.NDArray[Any]
T = TypeVar("T", Num, Int)


def where(cond: Any, a: T, b: T) -> T:
    """``a`` where ``cond`` holds, else ``b``; both sides are computed, so keep them finite."""
    if isinstance(cond, np.ndarray) or isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.where(cond, a, b)
    return a if cond else b


def minimum(a: Num, b: Num) -> Num:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.minimum(a, b)
    return min(a, b)


def maximum(a: Num, b: Num) -> Num:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.maximum(a, b)
    return max(a, b)


def logical_not(a: Any) -> Any:
    if isinstance(a, np.ndarray):
        return ~a
    return not a

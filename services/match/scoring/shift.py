"""How well a shift suits a seeker's availability and the care duties their own words imply.

A seeker who can work any time but mentions children or elders is scored with the
``any_with_care`` row: the weekday day shift (宝妈班) suits them best, nights worst.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from shared.vocabulary import SHIFT_LABELS

from .arrays import Int, Num, where
from .features import AVAILABILITY_CODES, SHIFT_CODES
from .policy import Policy, derived

# rows of the policy's shift table by code: the availability codes, then the care row
ROWS = (*AVAILABILITY_CODES, "any_with_care")
CARE_ROW = ROWS.index("any_with_care")


@derived
def table(policy: Policy) -> npt.NDArray[np.float64]:
    """``policy.shift`` as an array: [row code, shift code] -> score."""
    out = np.zeros((len(ROWS), len(SHIFT_CODES)))
    for r, name in enumerate(ROWS):
        for s, code in SHIFT_CODES.items():
            out[r, code] = policy.shift[name][s]
    return out


def rows(availability: Int, care: Any) -> Int:
    """The table row of each seeker: their availability code, or the care row."""
    return where((availability == AVAILABILITY_CODES["any"]) & care, CARE_ROW, availability)


def scores(availability: Int, care: Any, shift: Int, policy: Policy) -> Num:
    return table(policy)[rows(availability, care), shift]


def row(availability: str, care: bool) -> str:
    return ROWS[int(rows(AVAILABILITY_CODES.get(availability, 0), care))]


def score(availability: str, care: bool, shift: str, policy: Policy) -> float:
    if shift not in SHIFT_CODES:
        return 0.0
    return float(scores(AVAILABILITY_CODES.get(availability, 0), care, SHIFT_CODES[shift], policy))


def detail(shift: str) -> str:
    return SHIFT_LABELS.get(shift, shift)

"""Masking of personal data in anything that is logged.

Phones keep their first three and last four digits (139****5678), identity-card numbers their
first six and last four, as Chinese government systems print them: enough for an operator to
tell two people apart, not enough to call or impersonate them.
"""

from __future__ import annotations

import re
from typing import Any

_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
SENSITIVE_KEYS = frozenset({"phone", "id_number", "mobile", "to", "手机号", "身份证号"})


def mask_text(text: str) -> str:
    return _PHONE_RE.sub(r"\1****\2", _ID_RE.sub(r"\1********\2", text))


def mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value

"""The data both store and pipeline benchmarks use: the demo campaign, multiplied.

Why the demo and not random documents: its seekers are written to fit its postings, so every
posted profile really produces matches, inbox items and deliveries (the events whose cost is
measured), and the stored documents have the sizes and shapes the services really write.
Postings are repeated under distinct employer names (the per-employer cap would otherwise
hide all but one copy); profiles get distinct names and phones.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

from services.demo.data import POSTINGS, PROFILES

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅"


def posting_json(i: int) -> dict[str, Any]:
    """The i-th posting: the demo's postings in turn, each copy under its own employer name."""
    p = copy.deepcopy(POSTINGS[i % len(POSTINGS)])
    copy_no = i // len(POSTINGS)
    if copy_no:
        p["employer"]["name"] = f"{p['employer']['name']}（{copy_no}号厂区）"
    return p


def profile_json(i: int, *, run: int = 0) -> dict[str, Any]:
    """The i-th seeker: the demo's seekers in turn, with a unique name and mainland mobile number.

    ``run`` keeps the phones of successive runs apart (imports look profiles up by phone).
    """
    p = copy.deepcopy(PROFILES[i % len(PROFILES)])
    p["name"] = _SURNAMES[i % len(_SURNAMES)] + _GIVEN[(i // len(_SURNAMES)) % len(_GIVEN)] + str(i)
    p["phone"] = f"13{(run % 10)}{i % 100_000_000:08d}"
    p["channels"] = ["inbox", "sms"]
    p["contact_consent"] = True
    p.pop("id_number", None)
    return p


def profiles(n: int, *, run: int = 0, start: int = 0) -> Iterator[dict[str, Any]]:
    return (profile_json(i, run=run) for i in itertools.islice(itertools.count(start), n))

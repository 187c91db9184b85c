"""The shared example payloads (``../shared/examples`` beside the repository), for every test.

The examples are the contract other teams send us, so tests read the real files rather than
copies. They are found relative to this clone, not at a fixed absolute path, so that any
checkout next to ``shared/`` works. When they are missing the test fails, naming the path it
looked at: a skip (or an empty stand-in) would let the contract go untested unnoticed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO.parent / "shared" / "examples"


def examples_dir() -> Path:
    """``<repo>/../shared/examples``; fails the calling test (or module) if it is not there."""
    if not EXAMPLES.is_dir():
        pytest.fail(
            f"the shared examples are missing: expected {EXAMPLES} (../shared/examples beside the "
            "repository); check out the shared material next to this clone",
            pytrace=False,
        )
    return EXAMPLES


def example(name: str) -> dict[str, Any]:
    """The example ``<name>.json`` (``posting``, ``profile``) as a fresh dict the caller may change."""
    path = examples_dir() / f"{name}.json"
    if not path.is_file():
        pytest.fail(f"the shared example {path} is missing", pytrace=False)
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        pytest.fail(f"the shared example {path} is not a JSON object", pytrace=False)
    return data

"""Missing shared examples fail the tests loudly instead of skipping them or testing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import examples


def test_examples_are_read_beside_the_repository() -> None:
    assert examples.EXAMPLES == examples.REPO.parent / "shared" / "examples"
    assert examples.example("profile")["phone"]


def test_missing_examples_fail_with_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "shared" / "examples"
    monkeypatch.setattr(examples, "EXAMPLES", missing)
    with pytest.raises(pytest.fail.Exception, match=str(missing)):
        examples.example("profile")

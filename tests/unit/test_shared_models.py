"""The public payloads stay valid, and bad input fails with the field and a reason."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from shared.models import PostingIn, ProfileIn, normalise_phone
from shared.views import contact_view, display_name, profile_match_view
from tests.examples import example


def load(name: str) -> dict[str, object]:
    return example(name)


def test_examples_are_accepted_as_they_are() -> None:
    posting = PostingIn.model_validate(load("posting"))
    profile = ProfileIn.model_validate(load("profile"))
    assert posting.shift == "weekday_day" and posting.headcount == 50
    assert profile.channels == ["inbox", "sms"] and profile.home.adcode == "422828"


@pytest.mark.parametrize("raw", ["139 1234 5678", "+86 139-1234-5678", "8613912345678", "13912345678"])
def test_phone_forms_people_type_are_normalised(raw: str) -> None:
    assert normalise_phone(raw) == "13912345678"


@pytest.mark.parametrize("raw", ["12912345678", "1391234567", "phone", "139123456789"])
def test_not_a_mobile_number_is_rejected(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(raw)


def test_unknown_adcode_and_bad_id_name_their_fields() -> None:
    data = load("profile") | {"home": {"adcode": "999999"}, "id_number": "110101199003070000"}
    with pytest.raises(ValidationError) as err:
        ProfileIn.model_validate(data)
    fields = {".".join(str(p) for p in e["loc"]) for e in err.value.errors()}
    assert "home.adcode" in fields and "id_number" in fields


def test_valid_id_number_must_agree_with_birth_year() -> None:
    good = "11010519491231002X"  # a valid check digit, born 1949
    ProfileIn.model_validate(load("profile") | {"id_number": good, "birth_year": 1949})
    with pytest.raises(ValidationError, match="birth_year"):
        ProfileIn.model_validate(load("profile") | {"id_number": good, "birth_year": 1990})


def test_wage_range_and_filled_headcount_are_checked() -> None:
    with pytest.raises(ValidationError, match=r"wage\.max"):
        PostingIn.model_validate(load("posting") | {"wage": {"min": 5000, "max": 4000}})
    with pytest.raises(ValidationError, match="filled"):
        PostingIn.model_validate(load("posting") | {"filled": 51})


def test_match_view_carries_no_personal_identifiers_or_protected_traits() -> None:
    profile = ProfileIn.model_validate(load("profile") | {"gender": "女", "ethnicity": "土家族"})
    view = profile_match_view(profile, id="p1", version=1).model_dump()
    flat = json.dumps(view, ensure_ascii=False)
    for secret in ("13912345678", "示例求职者", "女", "土家族"):
        assert secret not in flat
    assert contact_view(profile, id="p1", version=1).phone == "13912345678"
    assert display_name("张三") == "张*"

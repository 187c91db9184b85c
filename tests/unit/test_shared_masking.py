from __future__ import annotations

from shared.masking import mask_text, mask_value


def test_phone_and_id_numbers_are_masked_wherever_they_appear() -> None:
    assert mask_text("call 13912345678 now") == "call 139****5678 now"
    assert mask_text("ID 11010519491231002X ok") == "ID 110105********002X ok"
    assert mask_value({"a": ["13912345678", 5]}) == {"a": ["139****5678", 5]}


def test_other_numbers_are_left_alone() -> None:
    assert mask_text("order 4000 yuan, adcode 422801") == "order 4000 yuan, adcode 422801"

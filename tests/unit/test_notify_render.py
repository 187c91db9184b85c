from __future__ import annotations

from services.notify.render import render_text
from shared.events import MatchView
from tests.unit.notify_fakes import match_payload


def test_sms_text_is_the_chinese_recommendation_with_reason() -> None:
    text = render_text("张**", MatchView.model_validate(match_payload()))
    assert text == (
        "【春风就业】张**您好，为您推荐恩施示例电子·流水线普工（宝妈班）："
        "距家约70公里 · 月薪3800–5200元，高于期望 · 周一至周五白班，双休。回复1有意向，回复2不感兴趣。"
    )
    assert len(text) <= 120


def test_only_an_sms_asks_for_a_keyword_reply_other_channels_point_to_the_inbox() -> None:
    text = render_text("张**", MatchView.model_validate(match_payload()), channel="wechat")
    assert text.endswith("感兴趣请到站内信回复。") and "回复1" not in text


def test_long_reason_drops_trailing_segments_to_fit() -> None:
    reason = " · ".join(
        ["距家约70公里", "月薪3800–5200元，高于期望", "周一至周五白班，双休"] + ["包吃住，五险一金齐全"] * 8
    )
    text = render_text("李*", MatchView.model_validate(match_payload(reason=reason)), max_chars=120)
    assert len(text) <= 120
    assert "距家约70公里" in text and text.endswith("回复1有意向，回复2不感兴趣。")


def test_a_very_long_title_is_shortened() -> None:
    payload = match_payload(reason="距家约5公里")
    payload["posting"]["title"] = "普工" * 80
    text = render_text("王*", MatchView.model_validate(payload), max_chars=120)
    assert len(text) <= 120 and "…" in text


def test_phone_numbers_in_employer_text_never_reach_the_message() -> None:
    payload = match_payload()
    payload["posting"]["title"] = "普工，电话13912345678"
    text = render_text("张**", MatchView.model_validate(payload))
    assert "13912345678" not in text


def test_empty_reason_falls_back_to_wage_and_shift() -> None:
    text = render_text("", MatchView.model_validate(match_payload(reason="")))
    assert "求职者您好" in text and "月薪3800–5200元" in text and "周一至周五白班" in text

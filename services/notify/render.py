"""The Chinese text of a pushed recommendation: short, friendly, and free of personal data.

An SMS over 70 characters is split into several billed parts, and long messages get skimmed, so
the text keeps the reason's leading segments (the match service orders them by weight) and drops
trailing ones until it fits. The only personal detail is the masked greeting name.

Seekers answer in their inbox (``POST /v1/inbox/…/reply``) or, to an SMS, by replying 1 or 2:
the gateway hands the reply to notify (``POST /v1/sms/inbound``, ``services/notify/inbound.py``),
which applies it to the seeker's most recent open recommendation. Other channels have no reply
path, so their text sends the seeker to the inbox.
"""

from __future__ import annotations

from shared.events import MatchView, PostingSummary
from shared.masking import mask_text
from shared.models import Channel
from shared.vocabulary import CHANNEL_LABELS, SHIFT_LABELS, wage_text

PREFIX = "【春风就业】"
CALL_TO_ACTION = f"感兴趣请到{CHANNEL_LABELS[Channel.inbox]}回复。"
SMS_CALL_TO_ACTION = "回复1有意向，回复2不感兴趣。"
SEPARATOR = " · "


def fallback_reason(posting: PostingSummary) -> str:
    wage = wage_text(posting.wage_min, posting.wage_max)
    parts = [p for p in (posting.place, wage, SHIFT_LABELS.get(posting.shift, "")) if p]
    return SEPARATOR.join(parts)


def render_text(display_name: str, match: MatchView, *, max_chars: int = 120, channel: str = "sms") -> str:
    call_to_action = SMS_CALL_TO_ACTION if channel == Channel.sms else CALL_TO_ACTION
    greeting = f"{PREFIX}{display_name or '求职者'}您好，为您推荐"
    job = f"{match.posting.employer}·{match.posting.title}" if match.posting.employer else match.posting.title
    segments = [s.strip() for s in (match.reason or fallback_reason(match.posting)).split("·") if s.strip()]

    def compose(job_text: str, segs: list[str]) -> str:
        body = f"：{SEPARATOR.join(segs)}。" if segs else "。"
        return f"{greeting}{job_text}{body}{call_to_action}"

    text = compose(job, segments)
    while len(text) > max_chars and len(segments) > 1:
        segments.pop()
        text = compose(job, segments)
    if len(text) > max_chars:
        room = max(4, len(job) - (len(text) - max_chars) - 1)
        job = job[:room] + "…"
        text = compose(job, segments)
    if len(text) > max_chars and segments:
        over = len(text) - max_chars
        segments = [segments[0][: max(0, len(segments[0]) - over - 1)] + "…"]
        text = compose(job, segments)
    # The posting text is written by an employer: make sure no phone or ID number slips through.
    return mask_text(text)


def fit_notice(head: str, reason: str, tail: str, *, max_chars: int = 120) -> str:
    """A notice (fair invitation, bus seat) from its reason's " · " segments, dropping trailing
    ones until it fits: the leading segments are the ones the sender ordered first (when, where)."""
    segments = [s.strip() for s in reason.split("·") if s.strip()]
    text = head + SEPARATOR.join(segments) + tail
    while len(text) > max_chars and len(segments) > 1:
        segments.pop()
        text = head + SEPARATOR.join(segments) + tail
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return mask_text(text)

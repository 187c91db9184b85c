"""The funnel events are part of the typed contract: registered, keyed by seeker, no personal data."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events import TOPIC_FUNNEL, FunnelHired, FunnelStep, funnel_event, parse, to_record


def test_a_funnel_step_round_trips_and_its_id_is_stable() -> None:
    step = FunnelStep(
        profile_id="p1",
        posting_id="j1",
        step="hired",
        at=datetime(2026, 3, 1, tzinfo=UTC),
        by="hr",
        role="employer",
    )
    event = funnel_event(step)
    topic, key, value = to_record(event)
    assert (topic, key) == (TOPIC_FUNNEL, "p1")
    back = parse(topic, value)
    assert isinstance(back, FunnelHired) and back.payload == step
    assert funnel_event(step).event_id == event.event_id


def test_the_step_payload_has_no_field_for_a_name_or_phone() -> None:
    assert not {"name", "phone", "display_name", "id_number"} & set(FunnelStep.model_fields)

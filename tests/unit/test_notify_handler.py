from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notify import documents as d
from services.notify.consumer import NotifyHandler
from shared.store.memory import MemoryStore
from tests.unit.notify_fakes import FakeClock, contact_event, match_event

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def setup() -> tuple[MemoryStore, NotifyHandler, FakeClock]:
    store = MemoryStore()
    clock = FakeClock(T0)
    return store, NotifyHandler(store, push_channels=["sms", "wechat", "webhook"], clock=clock), clock


async def deliveries(store: MemoryStore) -> list[dict[str, object]]:
    return await store.collection(d.DELIVERIES).find({}, sort=[("_id", 1)])


async def test_match_with_known_contact_creates_one_inbox_item_and_one_delivery_per_push_channel() -> None:
    store, handler, _ = setup()
    await handler.handle(contact_event(channels=["inbox", "sms", "wechat"]))
    await handler.handle(match_event())
    rec = await store.collection(d.RECOMMENDATIONS).get("p1:j1")
    assert rec is not None and rec["status"] == "active" and rec["deliveries_scheduled"] is True
    assert [(x["_id"], x["status"], x["attempts"]) for x in await deliveries(store)] == [
        ("p1:j1:sms", "pending", 0),
        ("p1:j1:wechat", "pending", 0),
    ]


async def test_replaying_the_same_match_event_changes_nothing() -> None:
    store, handler, _ = setup()
    await handler.handle(contact_event())
    event = match_event()
    await handler.handle(event)
    before = await store.collection(d.RECOMMENDATIONS).find({})
    await handler.handle(event)
    await handler.handle(event)
    assert await store.collection(d.RECOMMENDATIONS).find({}) == before
    assert len(await deliveries(store)) == 1


async def test_contact_after_match_schedules_the_deliveries_then() -> None:
    store, handler, _ = setup()
    await handler.handle(match_event())
    assert await deliveries(store) == []
    await handler.handle(contact_event(channels=["inbox", "sms"]))
    assert [x["_id"] for x in await deliveries(store)] == ["p1:j1:sms"]
    # a newer contact version does not schedule the same recommendation again
    await handler.handle(contact_event(version=2, channels=["inbox", "sms", "wechat"]))
    assert [x["_id"] for x in await deliveries(store)] == ["p1:j1:sms"]


async def test_inbox_only_or_no_consent_means_no_push() -> None:
    store, handler, _ = setup()
    await handler.handle(contact_event("p1", channels=["inbox"]))
    await handler.handle(contact_event("p2", consent=False))
    await handler.handle(match_event(profile_id="p1"))
    await handler.handle(match_event(profile_id="p2"))
    assert await deliveries(store) == []
    assert await store.collection(d.RECOMMENDATIONS).count({}) == 2


async def test_older_contact_version_is_ignored() -> None:
    store, handler, _ = setup()
    await handler.handle(contact_event(version=3, phone="13900000003"))
    await handler.handle(contact_event(version=2, phone="13900000002"))
    contact = await store.collection(d.CONTACTS).get("p1")
    assert contact is not None and contact["version"] == 3 and contact["phone"] == "13900000003"
    await handler.handle(contact_event(version=4, phone="13900000004"))
    contact = await store.collection(d.CONTACTS).get("p1")
    assert contact is not None and contact["phone"] == "13900000004"


async def test_withdrawal_hides_the_item_and_cancels_pending_deliveries() -> None:
    store, handler, clock = setup()
    await handler.handle(contact_event(channels=["inbox", "sms", "wechat"]))
    await handler.handle(match_event(at=T0))
    clock.advance(minutes=5)
    await handler.handle(
        match_event("match.withdrawn", at=T0 + timedelta(minutes=5), withdrawn_reason="岗位已招满")
    )
    rec = await store.collection(d.RECOMMENDATIONS).get("p1:j1")
    assert rec is not None and rec["status"] == "withdrawn" and rec["withdrawn_reason"] == "岗位已招满"
    assert {x["status"] for x in await deliveries(store)} == {"cancelled"}


async def test_withdrawn_then_matched_again_is_still_one_recommendation_and_no_new_push() -> None:
    store, handler, _ = setup()
    await handler.handle(contact_event())
    first = match_event(at=T0)
    await handler.handle(first)
    await handler.handle(match_event("match.withdrawn", at=T0 + timedelta(minutes=1)))
    # a replay of the original creation must not revive the withdrawn item
    await handler.handle(first)
    rec = await store.collection(d.RECOMMENDATIONS).get("p1:j1")
    assert rec is not None and rec["status"] == "withdrawn"
    # a genuinely new match shows it again in the inbox, without a second delivery
    await handler.handle(match_event(at=T0 + timedelta(minutes=2), score=0.9))
    recs = await store.collection(d.RECOMMENDATIONS).find({})
    assert len(recs) == 1 and recs[0]["status"] == "active" and recs[0]["score"] == 0.9
    assert [(x["_id"], x["status"]) for x in await deliveries(store)] == [("p1:j1:sms", "cancelled")]


async def test_contact_consent_withdrawn_cancels_pending_pushes() -> None:
    store, handler, _ = setup()
    await handler.handle(contact_event())
    await handler.handle(match_event())
    await handler.handle(contact_event(version=2, consent=False))
    assert [x["status"] for x in await deliveries(store)] == ["cancelled"]


async def test_contact_deleted_without_version_is_final() -> None:
    store, handler, _ = setup()
    await handler.handle(contact_event(version=5))
    await handler.handle(contact_event(type="contact.deleted", version=None))
    await handler.handle(contact_event(version=6))
    contact = await store.collection(d.CONTACTS).get("p1")
    assert contact is not None and contact["deleted"] is True and contact["phone"] is None

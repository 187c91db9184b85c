"""notify's batch path leaves the same inbox and deliveries as handling match events one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notify import documents as d
from services.notify.consumer import NotifyHandler
from shared.store.memory import MemoryStore
from tests.unit.notify_fakes import FakeClock, contact_event, match_event

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def rig() -> tuple[MemoryStore, NotifyHandler]:
    store = MemoryStore()
    return store, NotifyHandler(store, push_channels=["sms", "wechat"], clock=FakeClock(T0))


def events() -> list:  # type: ignore[type-arg]
    """New pairs for seekers with and without a usable contact, a pair updated in the same run,
    and the replay of an event already handled."""
    first = match_event(profile_id="p1", posting_id="j1", at=T0)
    return [
        first,
        match_event(profile_id="p1", posting_id="j2", at=T0),
        match_event(profile_id="p2", posting_id="j1", at=T0),  # inbox only: no push
        match_event(profile_id="p3", posting_id="j1", at=T0),  # no contact yet
        match_event("match.updated", profile_id="p1", posting_id="j1", at=T0 + timedelta(seconds=1), rank=2),
        first,
    ]


async def state(store: MemoryStore) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    recs = await store.collection(d.RECOMMENDATIONS).find({}, sort=[("_id", 1)])
    dels = await store.collection(d.DELIVERIES).find({}, sort=[("_id", 1)])
    return recs, dels


async def with_contacts(handler: NotifyHandler) -> None:
    await handler.handle(contact_event("p1", channels=["inbox", "sms", "wechat"]))
    await handler.handle(contact_event("p2", channels=["inbox"]))


async def test_a_batch_of_match_events_stores_what_one_by_one_handling_does() -> None:
    run = events()  # the same events (ids included: a recommendation names its creating event)
    one_store, one = rig()
    await with_contacts(one)
    for event in run:
        await one.handle(event)
    batch_store, batch = rig()
    await with_contacts(batch)
    await batch.on_matches(run)
    assert await state(batch_store) == await state(one_store)
    recs, dels = await state(batch_store)
    assert [x["_id"] for x in dels] == ["p1:j1:sms", "p1:j1:wechat", "p1:j2:sms", "p1:j2:wechat"]
    assert {r["_id"]: r["deliveries_scheduled"] for r in recs} == {
        "p1:j1": True,
        "p1:j2": True,
        "p2:j1": True,  # a usable contact with no push channel: scheduled, with nothing to push
        "p3:j1": False,
    }
    assert next(r for r in recs if r["_id"] == "p1:j1")["rank"] == 2  # the update in the run counts


async def test_a_replayed_batch_changes_nothing() -> None:
    store, handler = rig()
    await with_contacts(handler)
    batch = events()
    await handler.on_matches(batch)
    before = await state(store)
    await handler.on_matches(batch)
    assert await state(store) == before


async def contacts_state(store: MemoryStore) -> list[dict[str, object]]:
    return await store.collection(d.CONTACTS).find({}, sort=[("_id", 1)])


def contact_runs() -> list:  # type: ignore[type-arg]
    """A seeker whose match waited for the contact, one without consent, one already known (a
    newer version), and a run naming one seeker twice."""
    return [
        [
            contact_event("p3", channels=["inbox", "sms", "wechat"]),
            contact_event("p4", consent=False),
            contact_event("p1", version=2, channels=["inbox", "wechat"]),
        ],
        [contact_event("p5", version=1), contact_event("p5", version=2, consent=False)],
    ]


async def test_a_batch_of_contacts_stores_and_schedules_what_one_by_one_handling_does() -> None:
    one_store, one = rig()
    batch_store, batch = rig()
    run = events()
    for handler in (one, batch):
        await with_contacts(handler)
        for event in run:
            await handler.handle(event)
    for run in contact_runs():
        for event in run:
            await one.handle(event)
        await batch.on_contacts(run)
    assert await contacts_state(batch_store) == await contacts_state(one_store)
    assert await state(batch_store) == await state(one_store)
    recs, dels = await state(batch_store)
    assert "p3:j1:sms" in {x["_id"] for x in dels}  # the match that waited for its contact is pushed now
    assert next(r for r in recs if r["_id"] == "p3:j1")["deliveries_scheduled"] is True


async def test_a_crash_between_the_marked_recommendation_and_its_deliveries_is_repaired_by_the_replay() -> (
    None
):
    """Recommendations are created already marked; if the deliveries never got written (a crash
    right after the recommendations' insert), the replay of the same events writes them."""
    store, handler = rig()
    await with_contacts(handler)
    run = events()
    await handler.on_matches(run)
    after = await state(store)
    await store.collection(d.DELIVERIES).delete_many({})  # as if the crash came before them
    await handler.on_matches(run)
    assert await state(store) == after
    # a later event of a known pair (not the one that created it) pushes nothing again
    await store.collection(d.DELIVERIES).delete_many({})
    await handler.on_matches(
        [match_event("match.updated", profile_id="p1", posting_id="j2", at=T0 + timedelta(seconds=5))]
    )
    assert (await state(store))[1] == []


async def test_a_batch_writes_each_recommendation_once() -> None:
    """The mark is part of the insert when the contact is known: no second write per pair."""
    store, handler = rig()
    await with_contacts(handler)
    writes: list[str] = []
    recs = handler.recommendations
    original = recs.update

    async def counting_update(id: str, **kw: object) -> bool:
        writes.append(id)
        return await original(id, **kw)  # type: ignore[arg-type]

    recs.update = counting_update  # type: ignore[method-assign]
    await handler.on_matches(
        [match_event(profile_id="p1", posting_id=f"j{i}", at=T0) for i in range(1, 4)]
        + [match_event(profile_id="p2", posting_id="j1", at=T0)]
    )
    assert writes == []
    assert [x["_id"] for x in (await state(store))[1]] == [
        f"p1:j{i}:{c}" for i in range(1, 4) for c in ("sms", "wechat")
    ]

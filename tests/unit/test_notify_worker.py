from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from services.notify import documents as d
from services.notify.channels.base import DeliveryError
from services.notify.consumer import NotifyHandler
from services.notify.settings import NotifySettings
from services.notify.worker import DeliveryWorker
from shared.bus.base import Publisher
from shared.bus.memory import MemoryBus
from shared.events import TOPIC_DEAD_LETTER, DeliveryDead, parse
from shared.store.memory import MemoryStore
from tests.unit.fakes import FlakyPublisher
from tests.unit.notify_fakes import FakeChannel, FakeClock, contact_event, match_event

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


class Rig:
    def __init__(self, start: datetime = T0, failures: list[DeliveryError] | None = None, **settings: object):
        self.store = MemoryStore()
        self.bus = MemoryBus()
        self.clock = FakeClock(start)
        self.sms = FakeChannel("sms", failures or [])
        self.wechat = FakeChannel("wechat")
        self.settings = NotifySettings(**settings)  # type: ignore[arg-type]
        self.publisher: Publisher = self.bus.publisher("test")
        self.handler = NotifyHandler(self.store, push_channels=["sms", "wechat"], clock=self.clock)
        self.worker = self._worker()

    def _worker(self) -> DeliveryWorker:
        channels = {"sms": self.sms, "wechat": self.wechat}
        return DeliveryWorker(
            self.store, channels, self.publisher, self.settings, clock=self.clock, rand=lambda: 1.0
        )

    async def delivery(self, id: str = "p1:j1:sms") -> dict[str, object]:
        doc = await self.store.collection(d.DELIVERIES).get(id)
        assert doc is not None
        return doc

    def dead_letters(self) -> list[DeliveryDead]:
        events = [parse(TOPIC_DEAD_LETTER, r.value) for r in self.bus.records(TOPIC_DEAD_LETTER)]
        assert all(isinstance(e, DeliveryDead) for e in events)
        return events  # type: ignore[return-value]


async def test_due_delivery_is_sent_once_with_rendered_text_and_idempotency_key() -> None:
    rig = Rig()
    await rig.handler.handle(contact_event())
    await rig.handler.handle(match_event())
    assert await rig.worker.run_once() == 1
    assert await rig.worker.run_once() == 0
    assert len(rig.sms.sent) == 1
    msg = rig.sms.sent[0]
    assert msg.delivery_id == "p1:j1:sms" and msg.to == "13912345678"
    assert msg.text.startswith("【春风就业】张**您好") and "13912345678" not in msg.text
    doc = await rig.delivery()
    assert doc["status"] == "sent" and doc["attempts"] == 1 and doc["sent_at"] == T0


async def test_failing_channel_retries_with_backoff_then_dead_letters_once() -> None:
    rig = Rig(failures=[DeliveryError("sms gateway: HTTP 503", retryable=True)] * 10, max_attempts=3)
    await rig.handler.handle(contact_event())
    await rig.handler.handle(match_event())
    await rig.worker.run_once()
    doc = await rig.delivery()
    assert doc["status"] == "pending" and doc["attempts"] == 1
    assert doc["due_at"] == T0 + timedelta(seconds=2) and doc["last_error"] == "sms gateway: HTTP 503"
    await rig.worker.run_once()  # not due yet
    assert rig.sms.calls == 1
    rig.clock.advance(seconds=2)
    await rig.worker.run_once()
    doc = await rig.delivery()
    assert doc["attempts"] == 2 and doc["due_at"] == rig.clock.now + timedelta(seconds=4)
    rig.clock.advance(seconds=4)
    await rig.worker.run_once()
    doc = await rig.delivery()
    assert doc["status"] == "dead" and doc["attempts"] == 3 and rig.sms.calls == 3
    letters = rig.dead_letters()
    assert len(letters) == 1 and letters[0].key == "p1"
    letter = letters[0].payload
    assert letter.delivery_id == "p1:j1:sms" and letter.attempts == 3
    rig.clock.advance(hours=1)
    await rig.worker.run_once()
    assert len(rig.dead_letters()) == 1 and rig.sms.calls == 3


async def test_non_retryable_error_is_dead_at_once() -> None:
    rig = Rig(failures=[DeliveryError("sms gateway: HTTP 400 bad number", retryable=False)])
    await rig.handler.handle(contact_event())
    await rig.handler.handle(match_event())
    await rig.worker.run_once()
    assert (await rig.delivery())["status"] == "dead" and len(rig.dead_letters()) == 1


async def test_dead_letter_survives_a_bus_outage_with_a_stable_event_id() -> None:
    rig = Rig(failures=[DeliveryError("gone", retryable=False)])
    rig.publisher = FlakyPublisher(rig.bus.publisher("test"), failures=1)
    rig.worker = rig._worker()
    await rig.handler.handle(contact_event())
    await rig.handler.handle(match_event())
    await rig.worker.run_once()
    assert (await rig.delivery())["dead_letter_pending"] is True and rig.dead_letters() == []
    await rig.worker.run_once()
    await rig.worker.run_once()
    letters = rig.dead_letters()
    assert len(letters) == 1 and (await rig.delivery())["dead_letter_pending"] is False


async def test_quiet_hours_defer_sms_to_morning_but_not_wechat() -> None:
    night = datetime(2026, 3, 10, 13, 30, tzinfo=UTC)  # 21:30 in Shanghai
    rig = Rig(start=night)
    await rig.handler.handle(contact_event(channels=["inbox", "sms", "wechat"]))
    await rig.handler.handle(match_event())
    await rig.worker.run_once()
    sms = await rig.delivery()
    morning = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert sms["status"] == "pending" and sms["due_at"] == morning and sms["deferred_reason"] == "quiet_hours"
    assert sms["attempts"] == 0 and rig.sms.calls == 0
    assert (await rig.delivery("p1:j1:wechat"))["status"] == "sent"
    rig.clock.now = morning
    await rig.worker.run_once()
    assert (await rig.delivery())["status"] == "sent"


async def test_daily_cap_counts_recommendations_and_defers_the_rest_to_tomorrow() -> None:
    rig = Rig(daily_cap=2)
    await rig.handler.handle(contact_event(channels=["inbox", "sms", "wechat"]))
    for posting in ("j1", "j2", "j3"):
        await rig.handler.handle(match_event(posting_id=posting))
    await rig.worker.run_once()
    statuses = {x["_id"]: x["status"] for x in await rig.store.collection(d.DELIVERIES).find({})}
    # two recommendations went out on both channels; the third waits for tomorrow morning
    assert statuses == {
        "p1:j1:sms": "sent",
        "p1:j1:wechat": "sent",
        "p1:j2:sms": "sent",
        "p1:j2:wechat": "sent",
        "p1:j3:sms": "pending",
        "p1:j3:wechat": "pending",
    }
    assert (await rig.delivery("p1:j3:wechat"))["deferred_reason"] == "daily_cap"
    rig.clock.now = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    await rig.worker.run_once()
    assert (await rig.delivery("p1:j3:sms"))["status"] == "sent"


async def test_withdrawn_before_sending_is_cancelled_by_the_worker_too() -> None:
    rig = Rig()
    await rig.handler.handle(contact_event())
    await rig.handler.handle(match_event(at=T0))
    await rig.store.collection(d.RECOMMENDATIONS).update("p1:j1", set={"status": "withdrawn"})
    await rig.worker.run_once()
    assert (await rig.delivery())["status"] == "cancelled" and rig.sms.calls == 0


async def test_claimed_delivery_is_not_sent_twice_and_an_expired_lease_is_recovered() -> None:
    rig = Rig(lease_s=60)
    await rig.handler.handle(contact_event())
    await rig.handler.handle(match_event())
    deliveries = rig.store.collection(d.DELIVERIES)
    # another worker claimed it and then died
    claimed = await deliveries.update(
        "p1:j1:sms",
        set={"status": "sending", "lease_until": T0 + timedelta(seconds=60)},
        where={"status": "pending"},
    )
    assert claimed
    await rig.worker.run_once()
    assert rig.sms.calls == 0
    rig.clock.advance(seconds=61)
    await rig.worker.run_once()
    assert rig.sms.calls == 1 and (await rig.delivery())["status"] == "sent"


async def test_unexpected_channel_exception_is_retried_not_fatal() -> None:
    rig = Rig()

    async def boom(msg: object) -> str:
        raise ValueError("bug")

    rig.sms.send = boom  # type: ignore[method-assign]
    await rig.handler.handle(contact_event())
    await rig.handler.handle(match_event())
    await rig.worker.run_once()
    doc = await rig.delivery()
    assert doc["status"] == "pending" and doc["attempts"] == 1 and "bug" in str(doc["last_error"])


class _SlowChannel(FakeChannel):
    """Yields to the event loop inside every send, so two workers' ticks interleave."""

    async def send(self, msg: object) -> str:  # type: ignore[override]
        for _ in range(3):
            await asyncio.sleep(0)
        return await super().send(msg)  # type: ignore[arg-type]


async def test_a_tick_reads_each_seekers_contact_and_cap_slots_once_for_all_her_deliveries() -> None:
    rig = Rig(daily_cap=2)
    await rig.handler.handle(contact_event(channels=["inbox", "sms", "wechat"]))
    for posting in ("j1", "j2", "j3"):
        await rig.handler.handle(match_event(posting_id=posting))
    reads: list[str] = []
    contacts, slots = rig.worker.contacts, rig.worker.cap_slots
    get, find = contacts.get, slots.find

    async def counted_get(id: str) -> dict[str, object] | None:
        reads.append("contact")
        return await get(id)

    async def counted_find(where: object = None, **kw: object) -> list[dict[str, object]]:
        reads.append("slots")
        return await find(where, **kw)  # type: ignore[arg-type]

    contacts.get = counted_get  # type: ignore[method-assign]
    slots.find = counted_find  # type: ignore[method-assign]
    await rig.worker.run_once()
    assert sorted(reads) == ["contact", "slots"]  # six deliveries, one seeker, one tick
    sent = [x["_id"] for x in await rig.store.collection(d.DELIVERIES).find({"status": "sent"})]
    assert sorted(sent) == ["p1:j1:sms", "p1:j1:wechat", "p1:j2:sms", "p1:j2:wechat"]  # still the cap


async def test_two_workers_together_push_exactly_the_daily_cap_and_nothing_twice() -> None:
    rig = Rig(daily_cap=2)
    sms = _SlowChannel("sms")
    workers = [
        DeliveryWorker(rig.store, {"sms": sms}, rig.publisher, rig.settings, clock=rig.clock)
        for _ in range(2)
    ]
    await rig.handler.handle(contact_event(channels=["inbox", "sms"]))
    for posting in ("j1", "j2", "j3", "j4", "j5"):
        await rig.handler.handle(match_event(posting_id=posting))
    per_day = []
    for day in (10, 11, 12):
        rig.clock.now = datetime(2026, 3, day, 2, 0, tzinfo=UTC)
        before = len(sms.sent)
        await asyncio.gather(*(w.run_once() for w in workers))
        per_day.append(len(sms.sent) - before)
    assert per_day == [2, 2, 1]
    keys = [m.delivery_id for m in sms.sent]
    assert sorted(keys) == sorted(f"p1:j{i}:sms" for i in range(1, 6))  # each exactly once


async def test_a_worker_holding_a_stale_copy_of_a_delivery_another_claimed_does_not_send_it() -> None:
    rig = Rig()
    await rig.handler.handle(contact_event())
    await rig.handler.handle(match_event())
    stale = await rig.delivery()  # read by a second worker before the first one claims it
    other = rig._worker()
    await other.run_once()
    assert rig.sms.calls == 1
    await rig.worker._process(dict(stale))
    assert rig.sms.calls == 1  # its claim #0 was taken: nothing sent again


async def test_a_crash_mid_send_resends_under_the_same_idempotency_key_after_the_lease() -> None:
    rig = Rig(lease_s=30)
    await rig.handler.handle(contact_event())
    await rig.handler.handle(match_event())
    # a worker claimed it, its send reached the gateway, and it died before recording "sent"
    assert await rig.worker._claim(await rig.delivery(), rig.clock())
    rig.clock.advance(seconds=31)
    survivor = rig._worker()
    await survivor.run_once()
    doc = await rig.delivery()
    assert doc["status"] == "sent" and doc["claims"] == 2
    assert [m.delivery_id for m in rig.sms.sent] == ["p1:j1:sms"]  # the key the gateway dedupes on

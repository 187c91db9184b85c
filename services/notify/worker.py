"""The delivery worker: every tick, take due pending deliveries, apply the rules, send.

A delivery is *claimed* before it is sent, so two workers (two notify processes) never send the
same one: the worker inserts the claim document ``<delivery id>#<n>`` (n: the delivery's claims
so far), which only one inserter can create, then moves the delivery pending -> sending with a
lease and n + 1. A claim whose lease ran out (the worker died mid-send) returns the delivery to
pending for the next claim. The gateway's idempotency key, the delivery id, absorbs the
duplicate that such a recovery causes when the dead worker's send did reach the gateway.

The daily cap is counted the same way: before sending, the recommendation takes one of the
seeker's ``daily_cap`` slots of the local day (``cap_slots``, an insert per slot); when all are
taken by other recommendations the delivery waits for the next morning. A slot is kept once
taken, even if that send later fails for good: the cap is never exceeded, at the price of a
push fewer that day after a permanent failure. A delivery that has failed for good becomes ``dead`` with a
``dead_letter_pending`` mark set in the same write; the dead-letter event is published after
and the mark cleared, so an outage of the bus delays the event but never loses it.

A seeker's reply to a recommendation is relayed the same way: the reply endpoint sets
``feedback_pending`` (and bumps ``feedback_seq``) with the answer; every tick publishes the
pending ones as ``feedback.replied`` to match (through the shared outbox relay,
``services/notify/outbox.py``) and clears the mark only if no newer reply arrived
meanwhile (``where feedback_seq``), so the newest answer is always the last one published.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.notify import documents as d
from services.notify.channels.base import Channel, DeliveryError, OutboundMessage
from services.notify.consumer import Clock, utc_now
from services.notify.invitations import INVITATION, render_invitation
from services.notify.outbox import DEAD_LETTERS, FEEDBACK, notify_relay
from services.notify.render import render_text
from services.notify.rules import (
    Deferral,
    Rules,
    backoff_s,
    deferral,
    in_quiet_hours,
    next_morning,
    quiet_hours_end,
)
from services.notify.settings import NotifySettings
from services.notify.transport import TRANSPORT, render_transport
from shared.bus.base import Publisher
from shared.events import MatchView
from shared.logging import get_logger
from shared.masking import mask_text
from shared.metrics import DELIVERIES
from shared.store.base import Store

log = get_logger("notify.worker")


def rules_from(settings: NotifySettings) -> Rules:
    quiet = {"sms", "wechat"} if settings.quiet_hours_wechat else {"sms"}
    return Rules(
        tz=ZoneInfo(settings.timezone),
        quiet_start=settings.quiet_start,
        quiet_end=settings.quiet_end,
        quiet_channels=frozenset(quiet),
        daily_cap=settings.daily_cap,
    )


class TickReads:
    """What one tick has read of each seeker: her contact and her cap slots of the day.

    Why: a profile's recommendations come due together (about three per seeker, one push each),
    and each read is a store command, whose CPU in FerretDB bounds the pipeline. Kept for one
    tick only (seconds): a contact changed meanwhile is seen by the next tick, as a change during
    a send always was. The slots stay right because an insert is what takes one: a slot another
    worker took meanwhile fails the insert, which then reads who holds it.
    """

    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any] | None] = {}
        self.slots: dict[tuple[str, str], list[dict[str, Any]]] = {}


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        publisher: Publisher,
        settings: NotifySettings,
        *,
        clock: Clock = utc_now,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.deliveries = store.collection(d.DELIVERIES)
        self.recommendations = store.collection(d.RECOMMENDATIONS)
        self.contacts = store.collection(d.CONTACTS)
        self.claims = store.collection(d.CLAIMS)
        self.cap_slots = store.collection(d.CAP_SLOTS)
        self._channels = channels
        self.outbox = notify_relay(store, publisher, now=clock, batch=settings.worker_batch)
        self._settings = settings
        self._rules = rules_from(settings)
        self._clock = clock
        self._rand = rand
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notify:worker")

    async def stop(self) -> None:
        """Let the send in hand finish (its result is recorded), then stop taking new ones."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=self._settings.http_timeout_s + 5)
            except TimeoutError:
                self._task.cancel()

    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception as exc:  # the store or bus is down: try again next tick
                log.warning("worker tick failed", error=mask_text(repr(exc)))
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self._settings.worker_interval_s)
            except TimeoutError:
                pass

    # --- one tick ------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """One pass: recover expired leases, retry owed dead letters and replies, send what is due."""
        now = self._clock()
        await self._recover_leases(now)
        await self.flush_outbox()
        due = await self.deliveries.find(
            {"status": d.PENDING, "due_at": {"$lte": now}},
            sort=[("due_at", 1)],
            limit=self._settings.worker_batch,
        )
        handled = 0
        reads = TickReads()
        for delivery in due:
            if self._stopping.is_set():
                break
            handled += await self._process(delivery, reads)
        return handled

    async def _recover_leases(self, now: datetime) -> None:
        for delivery in await self.deliveries.find({"status": d.SENDING, "lease_until": {"$lt": now}}):
            if await self.deliveries.update(
                delivery["_id"],
                set={"status": d.PENDING, "due_at": now, "lease_until": None},
                where={"status": d.SENDING, "lease_until": delivery["lease_until"]},
            ):
                log.warning("lease expired, delivery back to pending", delivery_id=delivery["_id"])

    async def _process(self, delivery: dict[str, Any], reads: TickReads | None = None) -> int:
        now = self._clock()
        reads = reads or TickReads()
        did = delivery["_id"]
        if delivery["channel"] in self._rules.quiet_channels and in_quiet_hours(now, self._rules):
            # Nothing can go out before the quiet hours end, whatever the recommendation, the
            # contact or today's count say: one conditional write moves it there, instead of a
            # claim, three reads and a release (five round trips per delivery, all night long).
            # A withdrawal or a contact change meanwhile cancels pending deliveries anyway.
            if await self.deliveries.update(
                did,
                set={"due_at": quiet_hours_end(now, self._rules), "deferred_reason": "quiet_hours"},
                where={"status": d.PENDING},
            ):
                DELIVERIES.labels(delivery["channel"], "deferred_quiet_hours").inc()
            return 0
        if not await self._claim(delivery, now):
            return 0  # another worker took it
        rec = await self.recommendations.get(delivery["recommendation_id"])
        if delivery["profile_id"] not in reads.contacts:
            reads.contacts[delivery["profile_id"]] = await self.contacts.get(delivery["profile_id"])
        contact = reads.contacts[delivery["profile_id"]]
        if rec is None or rec.get("status") != "active":
            return await self._finish(did, delivery["channel"], d.CANCELLED, last_error="withdrawn")
        if not d.contact_usable(contact):
            return await self._finish(did, delivery["channel"], d.CANCELLED, last_error="contact_inactive")
        assert contact is not None

        channel_name = delivery["channel"]
        wait = deferral(now, channel_name, 0, self._rules)  # quiet hours; the cap is a slot below
        pair = (delivery["profile_id"], delivery["posting_id"])
        if wait is None and not await self._take_cap_slot(*pair, now, reads):
            wait = Deferral(next_morning(now, self._rules), "daily_cap")
        if wait is not None:
            await self.deliveries.update(
                did,
                set={
                    "status": d.PENDING,
                    "due_at": wait.until,
                    "deferred_reason": wait.reason,
                    "lease_until": None,
                },
                where={"status": d.SENDING},
            )
            DELIVERIES.labels(channel_name, f"deferred_{wait.reason}").inc()
            return 0

        channel = self._channels.get(channel_name)
        attempts = int(delivery.get("attempts", 0)) + 1
        try:
            if channel is None:
                raise DeliveryError(f"channel {channel_name} is not configured", retryable=False)
            provider_id = await channel.send(self._message(delivery, rec, contact))
        except DeliveryError as exc:
            return await self._failed(delivery, attempts, mask_text(exc.reason), retryable=exc.retryable)
        except Exception as exc:  # a bug in a channel must not kill the worker; retry it as transient
            return await self._failed(delivery, attempts, mask_text(repr(exc)), retryable=True)
        await self.deliveries.update(
            did,
            set={
                "status": d.SENT,
                "sent_at": self._clock(),
                "attempts": attempts,
                "provider_id": provider_id,
                "lease_until": None,
                "deferred_reason": None,
            },
        )
        self.sent += 1
        DELIVERIES.labels(channel_name, "sent").inc()
        log.info("delivered", delivery_id=did, channel=channel_name, attempts=attempts)
        return 1

    async def _finish(self, did: str, channel: str, status: str, *, last_error: str) -> int:
        DELIVERIES.labels(channel, status).inc()
        await self.deliveries.update(
            did, set={"status": status, "last_error": last_error, "lease_until": None}
        )
        return 0

    async def _claim(self, delivery: dict[str, Any], now: datetime) -> bool:
        """Own this delivery's next claim (an insert only one worker can make), then mark it sending."""
        did = delivery["_id"]
        n = int(delivery.get("claims", 0))
        if not await self.claims.insert(d.claim_doc(did, n, now=now)):
            return False
        lease_until = now + timedelta(seconds=self._settings.lease_s)
        return await self.deliveries.update(
            did,
            set={"status": d.SENDING, "lease_until": lease_until, "claims": n + 1},
            where={"status": d.PENDING},
        )

    async def _take_cap_slot(self, profile_id: str, posting_id: str, now: datetime, reads: TickReads) -> bool:
        """True if this recommendation holds, or now took, one of the seeker's slots of today."""
        day = now.astimezone(self._rules.tz).date().isoformat()
        slots = reads.slots.get((profile_id, day))
        if slots is None:
            slots = reads.slots[(profile_id, day)] = await self.cap_slots.find(
                {"profile_id": profile_id, "day": day}
            )
        if any(s.get("posting_id") == posting_id for s in slots):
            return True  # its other channel, or this one before a retry or a crash, took it
        taken = {int(s["n"]) for s in slots}
        for n in range(self._rules.daily_cap):
            if n in taken:
                continue
            doc = d.cap_slot_doc(profile_id, day, n, posting_id, now=now)
            if await self.cap_slots.insert(doc):
                slots.append(doc)
                return True
            slot = await self.cap_slots.get(f"{profile_id}:{day}:{n}")  # taken meanwhile: by whom?
            if slot is not None:
                slots.append(slot)
                if slot.get("posting_id") == posting_id:
                    return True
        return False

    def _message(
        self, delivery: dict[str, Any], rec: dict[str, Any], contact: dict[str, Any]
    ) -> OutboundMessage:
        match = MatchView.model_validate(
            {**rec, "match_id": rec["_id"], "factors": rec.get("factors", []), "rank": rec.get("rank", 0)}
        )
        channel = delivery["channel"]
        max_chars = self._settings.sms_max_chars if channel == "sms" else 300
        public = {
            k: rec.get(k)
            for k in (
                "profile_id",
                "posting_id",
                "score",
                "rank",
                "reason",
                "factors",
                "posting",
                "distance_km",
            )
        }
        return OutboundMessage(
            delivery_id=delivery["_id"],
            profile_id=delivery["profile_id"],
            posting_id=delivery["posting_id"],
            channel=channel,
            to=d.recipient(contact, channel),
            text=(
                render_invitation(str(contact.get("display_name", "")), rec, max_chars=max_chars)
                if rec.get("kind") == INVITATION
                else render_transport(str(contact.get("display_name", "")), rec, max_chars=max_chars)
                if rec.get("kind") == TRANSPORT
                else render_text(
                    str(contact.get("display_name", "")), match, max_chars=max_chars, channel=channel
                )
            ),
            recommendation=public,
        )

    async def _failed(self, delivery: dict[str, Any], attempts: int, error: str, *, retryable: bool) -> int:
        did = delivery["_id"]
        now = self._clock()
        if retryable and attempts < self._settings.max_attempts:
            delay = backoff_s(
                attempts,
                base_s=self._settings.backoff_base_s,
                max_s=self._settings.backoff_max_s,
                rand=self._rand,
            )
            await self.deliveries.update(
                did,
                set={
                    "status": d.PENDING,
                    "attempts": attempts,
                    "last_error": error,
                    "due_at": now + timedelta(seconds=delay),
                    "lease_until": None,
                },
            )
            DELIVERIES.labels(delivery["channel"], "retry").inc()
            log.warning("delivery failed, will retry", delivery_id=did, attempts=attempts, error=error)
            return 0
        await self.deliveries.update(
            did,
            set={
                "status": d.DEAD,
                "attempts": attempts,
                "last_error": error,
                "dead_at": now,
                "lease_until": None,
                "dead_letter_pending": True,
            },
        )
        DELIVERIES.labels(delivery["channel"], "dead").inc()
        log.error("delivery dead", delivery_id=did, attempts=attempts, error=error)
        await self._publish_dead_letter({**delivery, "attempts": attempts, "last_error": error})
        return 0

    async def flush_outbox(self) -> int:
        """Publish owed dead letters and replies; how many events went out (0 while the bus is down)."""
        try:
            return await self.outbox.flush()
        except Exception as exc:
            log.warning("outbox not published yet", error=mask_text(repr(exc)))
            return 0

    async def flush_feedback(self) -> int:
        """Publish the seekers' replies not yet told to match; how many were published."""
        try:
            return await self.outbox.flush([FEEDBACK])
        except Exception as exc:
            log.warning("replies not published yet", error=mask_text(repr(exc)))
            return 0

    async def _publish_dead_letter(self, delivery: dict[str, Any]) -> None:
        try:
            await self.outbox.publish_now(DEAD_LETTERS, delivery)
        except Exception as exc:  # the mark stays; the next tick's flush publishes it
            log.warning("dead letter not published yet", delivery_id=delivery["_id"], error=repr(exc))

"""The steady stream of writes a fault interrupts, and the accounting of what became of them.

``sent`` counts every request attempted, ``accepted`` the 2xx answers. Each accepted profile's
*expected* pairs are fixed by the data (``chaos.data``): its cell's accepted postings. After the
drain, every expected pair is looked up where it must be — the profile in ingest (GET), the pair
in match's list, in the seeker's inbox, and among the fake gateway's accepted messages (whose
idempotency key is the delivery id ``<profile>:<posting>:sms``) — and counted delivered only if
it is in all of them, lost if missing from any, duplicated if present more than once in the
inbox or the gateway's record. Pairs the seekers got that were not expected are counted apart
(``unexpected``): a write whose 2xx never reached the client (the service was killed after
storing it) may legitimately be delivered; nothing else may.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.data import Cell, cell_counties, posting_json, profile_json
from chaos.stack import url


@dataclass
class Load:
    run: str
    run_no: int
    postings_per_cell: int = 1
    profiles_per_cell: int = 4
    cells: list[Cell] = field(default_factory=list)
    sent: int = 0
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # status code or error -> count
    profile_cell: dict[str, int] = field(default_factory=dict)

    def plan(self, n: int) -> list[tuple[str, int, int]]:
        """The first ``n`` requests: (kind, cell, number within the cell), a profile before the
        cell's postings (matched when the posting arrives) and the rest after (matched at once)."""
        per_cell = self.postings_per_cell + self.profiles_per_cell
        counties = cell_counties()
        out: list[tuple[str, int, int]] = []
        for i in range(n):
            cell, k = divmod(i, per_cell)
            if cell >= len(counties):
                raise ValueError(f"more cells than the {len(counties)} counties far enough apart")
            if k == 0:
                out.append(("profile", cell, 0))
            elif k <= self.postings_per_cell:
                out.append(("posting", cell, k - 1))
            else:
                out.append(("profile", cell, k - self.postings_per_cell))
        return out

    def expected(self) -> dict[str, set[str]]:
        """Each accepted profile's pairs that must be delivered: its cell's accepted postings."""
        return {pid: set(self.cells[c].postings) for pid, c in self.profile_cell.items()}


async def generate(
    client: httpx.AsyncClient, load: Load, *, rate: float, duration_s: float, concurrency: int = 16
) -> None:
    """Send ``rate`` requests per second for ``duration_s`` seconds, on schedule (an open loop:
    a slow or dead service does not slow the stream down, as real clients would not)."""
    plan = load.plan(int(rate * duration_s))
    counties = cell_counties()
    for _ in range(len({c for _k, c, _n in plan})):
        load.cells.append(Cell(county=counties[len(load.cells)]))
    gate = asyncio.Semaphore(concurrency)
    t0 = time.monotonic()

    async def one(i: int, kind: str, cell: int, n: int) -> None:
        await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        county = load.cells[cell].county
        if kind == "posting":
            path, body = "/v1/postings", posting_json(load.run, cell, county, n)
        else:
            path, body = "/v1/profiles", profile_json(load.run_no, i, county)
        async with gate:
            load.sent += 1
            try:
                r = await client.post(f"{url('ingest')}{path}", json=body)
            except httpx.HTTPError as exc:
                load.refused[type(exc).__name__] += 1
                return
        if not 200 <= r.status_code < 300:
            load.refused[str(r.status_code)] += 1
            return
        load.accepted += 1
        entity_id = str(r.json()["id"])
        if kind == "posting":
            load.cells[cell].postings.append(entity_id)
        else:
            load.cells[cell].profiles.append(entity_id)
            load.profile_cell[entity_id] = cell

    await asyncio.gather(*(one(i, *step) for i, step in enumerate(plan)))


async def gateway_sends(
    client: httpx.AsyncClient, resent: Counter[tuple[str, str]] | None = None
) -> Counter[tuple[str, str]]:
    """(profile, posting) -> SMS the fake gateway accepted (it keeps one per idempotency key);
    ``resent`` gets, per pair, the requests that repeated a key (resends it absorbed)."""
    r = await client.get(f"{url('gateway')}/messages", params={"limit": 10_000})
    r.raise_for_status()
    sends: Counter[tuple[str, str]] = Counter()
    for m in r.json():
        key = str(m.get("idempotency_key") or "")
        parts = key.split(":")
        if m.get("channel") == "sms" and len(parts) == 3:
            sends[(parts[0], parts[1])] += 1
            if resent is not None:
                resent[(parts[0], parts[1])] += int(m.get("repeats", 0))
    return sends


async def drain(
    client: httpx.AsyncClient, load: Load, *, timeout_s: float, sms_per_profile: int | None = None
) -> float:
    """Wait until the gateway has every expected SMS (or ``timeout_s``); seconds waited.

    ``sms_per_profile`` (the cap scenario): each seeker's expected count of SMS instead.
    """
    t0 = time.monotonic()
    expected = load.expected()
    while time.monotonic() - t0 < timeout_s:
        sends = await gateway_sends(client)
        if sms_per_profile is None:
            missing = sum(1 for pid, ps in expected.items() for p in ps if not sends[(pid, p)])
        else:
            got = Counter(pid for (pid, _p), n in sends.items() for _ in range(n))
            missing = sum(1 for pid, ps in expected.items() if got[pid] < min(sms_per_profile, len(ps)))
        if not missing:
            break
        await asyncio.sleep(2)
    return time.monotonic() - t0


async def _get(client: httpx.AsyncClient, u: str, **params: Any) -> Any:
    for _ in range(5):  # a service just restarted may still answer 503 for a moment
        r = await client.get(u, params=params)
        if r.status_code == 200:
            return r.json()
        if r.status_code == 404:
            return None
        await asyncio.sleep(1)
    r.raise_for_status()
    return None


async def account(client: httpx.AsyncClient, load: Load, *, sms_cap: int | None = None) -> dict[str, Any]:
    """The row's counts (see the module docstring). ``sms_cap``: each seeker must have exactly
    min(cap, expected) SMS — a missing one is lost, one beyond is duplicated (the cap broken)."""
    expected = load.expected()
    resent: Counter[tuple[str, str]] = Counter()
    sends = await gateway_sends(client, resent)
    counts = Counter[str]()
    gate = asyncio.Semaphore(8)

    async def check(pid: str, postings: set[str]) -> None:
        async with gate:
            stored = await _get(client, f"{url('ingest')}/v1/profiles/{pid}")
            matches = await _get(client, f"{url('match')}/v1/matches", profile_id=pid) or []
            body = await _get(client, f"{url('notify')}/v1/inbox/{pid}", include_withdrawn="true")
        items = (body or {}).get("items", []) if isinstance(body, dict) else (body or [])
        inbox = Counter(str(i.get("posting_id")) for i in items)
        matched = Counter(str(m.get("posting_id")) for m in matches)
        counts["stored"] += stored is not None
        sms_total = sum(n for (p, _j), n in sends.items() if p == pid)
        for posting in postings:
            counts["expected"] += 1
            counts["matched"] += matched[posting] >= 1
            in_inbox = inbox[posting] >= 1 and stored is not None
            sms_ok = sends[(pid, posting)] >= 1 if sms_cap is None else True
            counts["delivered" if in_inbox and sms_ok else "lost"] += 1
            counts["duplicated"] += (inbox[posting] > 1) or (sends[(pid, posting)] > 1)
        if sms_cap is not None:
            want = min(sms_cap, len(postings))
            counts["sms_sent"] += sms_total
            counts["lost"] += max(0, want - sms_total)
            counts["cap_exceeded"] += max(0, sms_total - want)
            counts["duplicated"] += max(0, sms_total - want)
        others = (set(inbox) | {j for (p, j) in sends if p == pid}) - postings
        counts["unexpected"] += len(others)

    await asyncio.gather(*(check(pid, ps) for pid, ps in expected.items()))
    row: dict[str, Any] = {
        "sent": load.sent,
        "accepted": load.accepted,
        "delivered": counts["delivered"],
        "lost": counts["lost"],
        "duplicated": counts["duplicated"],
        "expected_pairs": counts["expected"],
        "profiles_accepted": len(expected),
        "profiles_stored": counts["stored"],
        "pairs_matched": counts["matched"],
        "unexpected": counts["unexpected"],
        "resends_absorbed": sum(n for (pid, _j), n in resent.items() if pid in expected),
        "refused": dict(load.refused),
    }
    if sms_cap is not None:
        row["sms_sent"] = counts["sms_sent"]
        row["cap_exceeded"] = counts["cap_exceeded"]
    return row

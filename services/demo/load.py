"""Loads the demo campaign through ingest's public API, exactly as an official's tool would."""

from __future__ import annotations

import asyncio

import httpx

from services.demo.data import POSTINGS, PROFILES

INGEST = "http://127.0.0.1:8001"
MATCH = "http://127.0.0.1:8002"
NOTIFY = "http://127.0.0.1:8003"

_loaded_profiles: list[tuple[str, str]] = []


async def load_demo(ingest_url: str = INGEST) -> list[tuple[str, str]]:
    """Post the postings first (so seekers find them at once), then the seekers.

    A store that already holds postings (a second ``make stack`` on the same data) is left as
    it is, so the demo never doubles; its first seeker is shown instead.
    """
    async with httpx.AsyncClient(base_url=ingest_url, timeout=30) as client:
        existing = (await client.get("/v1/postings", params={"limit": 1})).json()
        if existing.get("total", 0) > 0:
            seekers = (await client.get("/v1/profiles", params={"limit": 200})).json()["items"]
            if seekers:
                first = seekers[-1]  # newest first: the last is the oldest, the demo's first
                _loaded_profiles.append((first["name"], first["id"]))
            print("Data already present: the demo was not loaded again.", flush=True)
            return list(_loaded_profiles)
        for posting in POSTINGS:
            r = await client.post("/v1/postings", json=posting)
            r.raise_for_status()
        for profile in PROFILES:
            r = await client.post("/v1/profiles", json=profile)
            r.raise_for_status()
            _loaded_profiles.append((profile["name"], r.json()["id"]))
    await asyncio.sleep(1.5)  # let the first matches reach the inbox before pointing at it
    return list(_loaded_profiles)


def print_where_to_look() -> None:
    lines = [
        "",
        "Chunfeng is running.",
        f"  ingest  {INGEST}/docs   (postings, profiles, spreadsheet import)",
        f"  match   {MATCH}/docs",
        f"  notify  {NOTIFY}/docs",
    ]
    if _loaded_profiles:
        name, pid = _loaded_profiles[0]
        lines += [
            "Demo campaign:",
            f"  {name}'s inbox:        {NOTIFY}/v1/inbox/{pid}",
            f"  {name}'s matches:      {MATCH}/v1/matches?profile_id={pid}",
            f"  deliveries:          {NOTIFY}/v1/deliveries?profile_id={pid}",
            "  all seekers:         " + f"{INGEST}/v1/profiles",
        ]
    print("\n".join(lines), flush=True)

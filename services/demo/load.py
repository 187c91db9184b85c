"""Loads the demo campaign through ingest's public API, exactly as an official's tool would.

The loader authenticates like any client: with the admin key given to it (``make run`` passes
the one it issued) or ``CHUNFENG_ADMIN_KEY`` from the environment (``make stack`` sets it).
"""

from __future__ import annotations

import asyncio

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.demo.data import POSTINGS, PROFILES
from shared.auth import headers

INGEST = "http://127.0.0.1:8001"
MATCH = "http://127.0.0.1:8002"
NOTIFY = "http://127.0.0.1:8003"
CAMPAIGN = "http://127.0.0.1:8004"

DEMO_COUNTY = "4228"  # 恩施州: the demo official's area, home of the first demo seeker
DEMO_EMPLOYER = POSTINGS[0]["employer"]


class DemoSettings(BaseSettings):
    """The loader is a client like any other: it needs a key, never a service's secrets."""

    model_config = SettingsConfigDict(extra="ignore")

    admin_key: str = Field(default="", validation_alias="CHUNFENG_ADMIN_KEY")


_loaded_profiles: list[tuple[str, str]] = []
_keys: dict[str, str] = {}  # role -> demo key, shown by print_where_to_look (make run only)


def admin_key() -> str:
    key = _keys.get("admin") or DemoSettings().admin_key
    if not key:
        raise SystemExit("the demo loader needs an admin API key: set CHUNFENG_ADMIN_KEY")
    return key


async def load_demo(ingest_url: str = INGEST, key: str | None = None) -> list[tuple[str, str]]:
    """Post the postings first (so seekers find them at once), then the seekers.

    A store that already holds postings (a second ``make stack`` on the same data) is left as
    it is, so the demo never doubles; its first seeker is shown instead.
    """
    auth = headers(key or admin_key())
    async with httpx.AsyncClient(base_url=ingest_url, timeout=30, headers=auth) as client:
        r = await client.get("/v1/postings", params={"limit": 1})
        r.raise_for_status()
        if r.json().get("total", 0) > 0:
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
        f"  campaign {CAMPAIGN}/docs   (funnel, follow-ups, {CAMPAIGN}/v1/circulars/daily)",
        f"  officials' dashboard: {CAMPAIGN}/  (sign in with the official's or the admin's key below)",
    ]
    if _keys:
        lines += ["Demo API keys (valid until Ctrl-C; send as `Authorization: Bearer <key>`):"]
        lines += [f"  {role:<9}{key}" for role, key in _keys.items()]
        lines += [
            f"  (official: {DEMO_COUNTY}* 恩施州; employer: {DEMO_EMPLOYER['name']}"
            f" {DEMO_EMPLOYER['credit_code']}; seeker: the seeker below)"
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
        key = _keys.get("seeker") or "$CHUNFENG_ADMIN_KEY"
        lines += [f'  try:  curl -H "Authorization: Bearer {key}" {NOTIFY}/v1/inbox/{pid}']
    print("\n".join(lines), flush=True)

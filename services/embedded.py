"""``make run``'s embedded mode: the four services in one process, one in-process bus.

The same apps as in production (``create_app`` of each service), with the embedded bus and
store chosen by ``shared.runtime`` because no ``KAFKA_BOOTSTRAP_SERVERS``/``MONGODB_URL`` is
set. Each service still listens on its own port, so everything a user does against the real
stack works here too. The demo data set is loaded through ingest's HTTP API, as an official's
tool would.

The four apps share one key ring: the keys of ``CHUNFENG_API_KEYS`` if set, plus a fresh demo
key per role, printed at the start and forgotten at Ctrl-C (the seeker's is issued once the
demo seeker exists, since it is bound to her profile id).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from services.campaign.app import create_app as campaign_app
from services.campaign.settings import CampaignSettings
from services.demo import load as demo
from services.demo.load import load_demo, print_where_to_look
from services.ingest.app import create_app as ingest_app
from services.ingest.settings import IngestSettings
from services.match.app import create_app as match_app
from services.match.settings import MatchSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.auth import KeyRing, Role
from shared.bus.base import TopicSpec
from shared.logging import configure_logging, get_logger
from shared.runtime import make_bus
from shared.settings import CommonSettings
from shared.topics import topic_specs

log = get_logger("embedded")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process, which stops them all."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def main(load: bool = True, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or until ``stop`` is set, for tests)."""
    common = CommonSettings()
    configure_logging("embedded", common.log_level, common.log_json)
    bus = make_bus(common)
    specs: list[TopicSpec] = topic_specs(common.topic_partitions)
    await bus.ensure_topics(specs)
    keyring = KeyRing.from_config(common.api_keys)
    demo._keys.clear()
    demo._keys["admin"] = keyring.issue("demo-admin", Role.admin)
    demo._keys["official"] = keyring.issue("demo-official-enshi", Role.official, [demo.DEMO_COUNTY])
    code = str(demo.DEMO_EMPLOYER["credit_code"])
    demo._keys["employer"] = keyring.issue(f"demo-employer-{code}", Role.employer, [code])
    apps = [
        (ingest_app(IngestSettings(), keyring=keyring), IngestSettings()),
        (match_app(MatchSettings(), keyring=keyring), MatchSettings()),
        (notify_app(NotifySettings(), keyring=keyring), NotifySettings()),
        (campaign_app(CampaignSettings(), keyring=keyring), CampaignSettings()),
    ]
    servers = [
        _Server(uvicorn.Config(app, host=s.host, port=s.port, log_config=None, lifespan="on"))
        for app, s in apps
    ]
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            stop.set()
            break
        await asyncio.sleep(0.05)
    if not stop.is_set():
        if load:
            loaded = await load_demo(f"http://127.0.0.1:{apps[0][1].port}", demo._keys["admin"])
            if loaded:
                pid = loaded[0][1]
                demo._keys["seeker"] = keyring.issue(f"demo-seeker-{pid[:8]}", Role.seeker, [pid])
        print_where_to_look()
        print("Press Ctrl-C to stop.", flush=True)
    await stop.wait()
    log.info("stopping")
    for s in servers:
        s.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())

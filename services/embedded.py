"""``make run``'s embedded mode: the three services in one process, one in-process bus.

The same apps as in production (``create_app`` of each service), with the embedded bus and
store chosen by ``shared.runtime`` because no ``KAFKA_BOOTSTRAP_SERVERS``/``MONGODB_URL`` is
set. Each service still listens on its own port, so everything a user does against the real
stack works here too. The demo data set is loaded through ingest's HTTP API, as an official's
tool would.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from services.demo.load import load_demo, print_where_to_look
from services.ingest.app import create_app as ingest_app
from services.ingest.settings import IngestSettings
from services.match.app import create_app as match_app
from services.match.settings import MatchSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.bus.base import TopicSpec
from shared.logging import configure_logging, get_logger
from shared.runtime import make_bus
from shared.settings import CommonSettings
from shared.topics import topic_specs

log = get_logger("embedded")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process, which stops all three."""

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
    apps = [
        (ingest_app(IngestSettings()), IngestSettings()),
        (match_app(MatchSettings()), MatchSettings()),
        (notify_app(NotifySettings()), NotifySettings()),
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
            await load_demo(f"http://127.0.0.1:{apps[0][1].port}")
        print_where_to_look()
        print("Press Ctrl-C to stop.", flush=True)
    await stop.wait()
    log.info("stopping")
    for s in servers:
        s.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())

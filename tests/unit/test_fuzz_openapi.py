"""Every service's OpenAPI is a promise, fuzzed with schemathesis against the app itself.

Each app (ingest, match, notify, campaign) runs in-process on the memory bus and store, with an
admin key, and every operation its OpenAPI lists — so routes added later are fuzzed without a
word here — gets the examples, coverage and fuzzing phases with all of schemathesis's checks:
no 5xx, only documented status codes, bodies, content types and headers as documented, ``Allow``
on a 405 listing the path's methods, schema-violating requests refused, and schema-valid ones
accepted.

"Accepted" has one refinement: a schema-valid request may get a 422 for a rule no schema can
state, and for nothing else (``tests/openapi_checks.py``). The settings shared with a
``schemathesis run`` by hand are in ``schemathesis.toml``; this test adds the key, the seed and
the bounds.

Deterministic (a fixed seed, derandomized generation) and bounded (``MAX_EXAMPLES`` per
operation and phase): about a minute for the four services on this machine.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable

import pytest
import schemathesis
from fastapi import FastAPI

from services.campaign.app import create_app as campaign_app
from services.campaign.settings import CampaignSettings
from services.ingest.app import create_app as ingest_app
from services.ingest.settings import IngestSettings
from services.match.app import create_app as match_app
from services.match.settings import MatchSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.bus.memory import MemoryBus
from shared.errors import effective_routes
from shared.store.memory import MemoryStore
from tests import openapi_checks
from tests.examples import REPO
from tests.unit.fakes import ADMIN, admin_keyring

MAX_EXAMPLES = 25
SEED = 2026


def config() -> schemathesis.Config:
    project = tomllib.loads((REPO / "schemathesis.toml").read_text(encoding="utf-8"))
    project.pop("hooks")  # imported above
    return schemathesis.Config.from_dict(
        project
        | {
            "seed": SEED,
            # Generating a profile that fits every pattern and bound filters many drafts out; that
            # is the generator's cost, not the API's fault, so it is no failure here.
            "suppress-health-check": ["filter_too_much"],
            "headers": dict(ADMIN),
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "all"},
            "phases": {"stateful": {"enabled": False}},
        }
    )


def _ingest() -> FastAPI:
    return ingest_app(IngestSettings(), bus=MemoryBus(), store=MemoryStore(), keyring=admin_keyring())


def _match() -> FastAPI:
    return match_app(MatchSettings(), bus=MemoryBus(), store=MemoryStore(), keyring=admin_keyring())


def _notify() -> FastAPI:
    return notify_app(
        NotifySettings(), bus=MemoryBus(), store=MemoryStore(), channels={}, keyring=admin_keyring()
    )


def _campaign() -> FastAPI:
    return campaign_app(CampaignSettings(), bus=MemoryBus(), store=MemoryStore(), keyring=admin_keyring())


APPS: dict[str, Callable[[], FastAPI]] = {
    "ingest": _ingest,
    "match": _match,
    "notify": _notify,
    "campaign": _campaign,
}
assert openapi_checks.rejected_only_for_rules_no_schema_can_state  # registered on import

SCHEMAS = {
    name: schemathesis.openapi.from_asgi("/openapi.json", build(), config=config())
    for name, build in APPS.items()
}


@SCHEMAS["ingest"].parametrize()
def test_ingest_openapi(case: schemathesis.Case) -> None:
    case.call_and_validate()


@SCHEMAS["match"].parametrize()
def test_match_openapi(case: schemathesis.Case) -> None:
    case.call_and_validate()


@SCHEMAS["notify"].parametrize()
def test_notify_openapi(case: schemathesis.Case) -> None:
    case.call_and_validate()


@SCHEMAS["campaign"].parametrize()
def test_campaign_openapi(case: schemathesis.Case) -> None:
    case.call_and_validate()


@pytest.mark.parametrize("name", sorted(APPS))
def test_every_api_route_is_in_the_fuzzed_schema(name: str) -> None:
    """A /v1 route hidden from the OpenAPI would escape the fuzzing above."""
    app = APPS[name]()
    documented = app.openapi()["paths"]
    paths = [getattr(route, "path", "") for route in effective_routes(app)]
    api = [p for p in paths if p.startswith("/v1/")]
    assert api, f"{name}: no /v1 route found: the walk over the app's routes is broken"
    for path in api:
        assert path in documented, f"{name}: {path} is not in the OpenAPI, so it is not fuzzed"

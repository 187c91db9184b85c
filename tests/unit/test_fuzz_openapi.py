"""Every service's OpenAPI is a promise, fuzzed with schemathesis against the app itself.

Each app (ingest, match, notify, campaign) runs in-process on the memory bus and store, with an
admin key, and every operation its OpenAPI lists — so routes added later are fuzzed without a
word here — gets the examples, coverage and fuzzing phases with all of schemathesis's checks:
no 5xx, only documented status codes, bodies, content types and headers as documented, ``Allow``
on a 405 listing the path's methods, schema-violating requests refused, and schema-valid ones
accepted.

"Accepted" has one refinement. Some rules no JSON Schema can state: an adcode must name a known
place, an ID number's check digit, ``wage.max`` at least ``wage.min``, exactly one of two query
parameters, a spreadsheet's content. A schema-valid request may therefore get a 422, but only
for such a rule: every error in it must be a ``value_error`` (what the models' validators and
``shared.errors.unprocessable`` raise) or a rejected file. A 422 whose errors pydantic could
have been told about in the schema (a pattern, a length, a missing field) means the schema
does not say what the API accepts, and fails the test.

Deterministic (a fixed seed, derandomized generation) and bounded (``MAX_EXAMPLES`` per
operation and phase): about half a minute for the four services on this machine.
"""

from __future__ import annotations

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
from shared.store.memory import MemoryStore
from tests.unit.fakes import ADMIN, admin_keyring

MAX_EXAMPLES = 25
SEED = 2026

# Error types a schema-valid request may be refused with: rules no schema can state.
RULE_ERRORS = frozenset({"value_error", "file_rejected"})


@schemathesis.check
def rejected_only_for_rules_no_schema_can_state(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    detail = (response.json() or {}).get("detail")
    errors = detail if isinstance(detail, list) else [{"type": "string detail", "msg": detail}]
    statable = [e for e in errors if not isinstance(e, dict) or e.get("type") not in RULE_ERRORS]
    if statable:
        raise AssertionError(
            "schema-valid request rejected for a rule the schema could state: "
            + "; ".join(f"{e.get('type')} at {e.get('loc')}: {e.get('msg')}" for e in statable)
        )
    return None


def config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": dict(ADMIN),
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "all"},
            "phases": {"stateful": {"enabled": False}},
            # 422 joins the statuses a schema-valid request may get; the check above narrows it.
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
                }
            },
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
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith("/v1/"):
            assert path in documented, f"{name}: {path} is not in the OpenAPI, so it is not fuzzed"

"""Schemathesis extensions of the project's own (loaded by ``schemathesis.toml``'s ``hooks``).

The ``adcode`` string format (``shared.models.Adcode``): mostly codes of known places (counties
and their towns), so that generated postings and profiles get past the place check and reach
the code behind it, and now and then any code the pattern allows, which must get a 422.

The check below:

Some rules no JSON Schema can state: an adcode must name a known place, an ID number's check
digit, ``wage.max`` at least ``wage.min``, exactly one of two query parameters, a spreadsheet's
content. A schema-valid request may therefore get a 422 (``schemathesis.toml`` admits it to
``positive_data_acceptance``), but only for such a rule: every error in it must be a
``value_error`` (what the models' validators and ``shared.errors.unprocessable`` raise) or a
rejected file. A 422 with any other error — a pattern, a length, a type, a missing field: all
things the schema could have said — means the schema does not tell what the API accepts.
"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

from shared import places
from shared.models import ADCODE_PATTERN

_COUNTIES = sorted(p.adcode for p in places.all_places())
schemathesis.openapi.format(
    "adcode",
    st.one_of(
        st.sampled_from(_COUNTIES),
        st.sampled_from(_COUNTIES).map(lambda county: county + "001"),  # a town of it
        st.from_regex(ADCODE_PATTERN, fullmatch=True),
    ),
)

RULE_ERRORS = frozenset({"value_error", "file_rejected"})


@schemathesis.check
def rejected_only_for_rules_no_schema_can_state(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    body = response.json()
    detail = body.get("detail") if isinstance(body, dict) else body
    errors = detail if isinstance(detail, list) else [{"type": "a bare string", "msg": detail}]
    statable = [e for e in errors if not isinstance(e, dict) or e.get("type") not in RULE_ERRORS]
    if statable:
        raise AssertionError(
            "schema-valid request rejected for a rule the schema could state: "
            + "; ".join(
                f"{e.get('type')} at {e.get('loc')}: {e.get('msg')}" if isinstance(e, dict) else str(e)
                for e in statable
            )
        )
    return None

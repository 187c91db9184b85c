"""The event contract: registry, generated schemas current, least personal data per topic."""

from __future__ import annotations

import json

from shared import schemas
from shared.events import REGISTRY, TOPIC_CONTACTS, Event
from shared.topics import topic_specs

PERSONAL = {"phone", "name", "id_number", "gender", "ethnicity", "address", "wechat_openid"}


def test_checked_in_schemas_are_current() -> None:
    """CI fails when an event model changed and `make schemas` was not run."""
    assert schemas.main(["--check"]) == 0


def test_every_registered_event_travels_on_a_created_topic() -> None:
    created = {s.name for s in topic_specs(3)}
    assert {topic for topic, _, _ in REGISTRY} <= created
    for (topic, event_type, version), cls in REGISTRY.items():
        assert issubclass(cls, Event) and cls.topic == topic
        assert cls.model_fields["type"].default == event_type and version == 1


def _properties(schema: object) -> set[str]:
    """Every property name anywhere in a JSON Schema."""
    found: set[str] = set()
    if isinstance(schema, dict):
        found |= set(schema.get("properties", {}))
        for value in schema.values():
            found |= _properties(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= _properties(value)
    return found


def test_only_the_contact_topic_carries_personal_data() -> None:
    for topic, schema in schemas.topic_schemas().items():
        names = _properties(json.loads(schemas.render(schema)))
        if topic.endswith(TOPIC_CONTACTS.split("chunfeng.", 1)[1]):
            assert {"phone", "wechat_openid"} <= names
        elif "profiles" in topic:
            assert not PERSONAL & names, topic  # what matching may know of a seeker
        else:
            # a posting's name and workplace address are the employer's, not a person's
            assert not (PERSONAL - {"address", "name"}) & names, topic

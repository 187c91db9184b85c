"""Writes the JSON Schema of every topic from the event classes: ``python -m shared.schemas``.

A team that consumes Chunfeng's topics reads ``docs/events/<topic>.schema.json`` instead of our
Python: one schema per topic, a ``oneOf`` over its event types with ``type`` as the
discriminator. The files are generated, never edited; ``--check`` (run by the unit tests, so CI
fails on a stale file) compares them with what the code would write now.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema

from shared.events import REGISTRY, TOPIC_PREFIX, Event

OUT = Path(__file__).resolve().parents[1] / "docs" / "events"


def _base(topic: str) -> str:
    """The topic's name without a deployment's prefix: the schema is the same everywhere."""
    return topic[len(TOPIC_PREFIX) :] if TOPIC_PREFIX and topic.startswith(TOPIC_PREFIX) else topic


def topic_schemas() -> dict[str, dict[str, Any]]:
    by_topic: dict[str, list[type[Event]]] = {}
    for (topic, _type, _version), cls in REGISTRY.items():
        by_topic.setdefault(_base(topic), []).append(cls)
    out: dict[str, dict[str, Any]] = {}
    for topic, classes in sorted(by_topic.items()):
        refs, defs = models_json_schema(
            [(cls, "serialization") for cls in classes], ref_template="#/$defs/{model}"
        )
        variants = [refs[(cls, "serialization")] for cls in classes]
        out[topic] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{topic}.schema.json",
            "title": topic,
            "description": (
                f"Records on Kafka topic {topic} (a deployment may prefix the name). Key: the "
                "record key equals the envelope's `key`. Consumers deduplicate on `event_id`."
            ),
            "oneOf": variants,
            "discriminator": {"propertyName": "type"},
            "x-event-types": {cls.model_fields["type"].default: cls.__name__ for cls in classes},
            "$defs": defs.get("$defs", {}),
        }
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if a checked-in schema is stale")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    wanted = {f"{topic}.schema.json": render(s) for topic, s in topic_schemas().items()}
    present = {p.name for p in args.out.glob("*.schema.json")} if args.out.exists() else set()
    if args.check:
        stale = sorted(
            name
            for name, text in wanted.items()
            if not (args.out / name).exists() or (args.out / name).read_text(encoding="utf-8") != text
        ) + sorted(present - set(wanted))
        if stale:
            print("stale event schemas (run `make schemas`):", ", ".join(stale), file=sys.stderr)
            return 1
        print(f"{len(wanted)} event schemas are current")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in present - set(wanted):
        (args.out / name).unlink()
    for name, text in wanted.items():
        (args.out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(wanted)} event schemas to {args.out}")
    return 0


# Kept importable for callers that want one event's schema without the topic wrapper.
def event_schema(cls: type[Event]) -> dict[str, Any]:
    return TypeAdapter(cls).json_schema(mode="serialization")


if __name__ == "__main__":
    sys.exit(main())

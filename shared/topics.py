"""Creates the project's topics (``python -m shared.topics``); the broker never auto-creates.

Entity topics get ``CHUNFENG_TOPIC_PARTITIONS`` partitions (3 by default) so that each
consumer group can spread over three members; the dead-letter topics (undeliverable
messages, rejected records) need only one, and so does match's input log (``TOPIC_MATCH_INPUT``),
whose single partition is what gives every match instance the same order (it is kept forever:
it is the source of match's state in scale-out). The seeker topics in ``COMPACTED_TOPICS``
(profiles, contacts) are compacted, so that a deleted seeker's tombstone makes the broker forget her.
"""

from __future__ import annotations

import asyncio

from shared.bus.base import TopicSpec
from shared.events import (
    COMPACTED_TOPICS,
    TOPIC_CONTACTS,
    TOPIC_DEAD_LETTER,
    TOPIC_FEEDBACK,
    TOPIC_FUNNEL,
    TOPIC_MATCH_INPUT,
    TOPIC_MATCHES,
    TOPIC_POSTINGS,
    TOPIC_PROFILES,
    TOPIC_RECRUITMENT,
    TOPIC_REJECTED,
    TOPIC_TRANSPORT,
)
from shared.runtime import make_bus
from shared.settings import CommonSettings


def topic_specs(partitions: int) -> list[TopicSpec]:
    entity = [
        TOPIC_POSTINGS,
        TOPIC_PROFILES,
        TOPIC_CONTACTS,
        TOPIC_MATCHES,
        TOPIC_FEEDBACK,
        TOPIC_FUNNEL,
        TOPIC_RECRUITMENT,
        TOPIC_TRANSPORT,
    ]
    return [TopicSpec(t, partitions, compacted=t in COMPACTED_TOPICS) for t in entity] + [
        TopicSpec(TOPIC_DEAD_LETTER, 1),
        TopicSpec(TOPIC_REJECTED, 1),
        TopicSpec(TOPIC_MATCH_INPUT, 1, kept=True),
    ]


async def main() -> None:
    settings = CommonSettings()
    bus = make_bus(settings)
    await bus.ensure_topics(topic_specs(settings.topic_partitions))
    print("topics ready:", ", ".join(s.name for s in topic_specs(settings.topic_partitions)))


if __name__ == "__main__":
    asyncio.run(main())

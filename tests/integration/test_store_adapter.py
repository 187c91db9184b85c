"""The store adapter on the real MongoDB-protocol server: concurrent updates of one document.

FerretDB 1.x applies an update by reading the document and writing it back, so concurrent
updates of one document can lose each other; the adapter serialises writes per document. This
drives the adapter itself (not a service) against the stack's store, because the guarantee
every service's ``where`` guards rely on lives there.
"""

from __future__ import annotations

import asyncio
import uuid

from shared.store.mongo import MongoStore
from tests.integration.conftest import Stack


def test_concurrent_updates_of_one_document_are_all_applied(stack: Stack) -> None:
    async def run() -> dict[str, object] | None:
        store = MongoStore(stack.mongodb_url, f"it_adapter_{uuid.uuid4().hex[:8]}")
        col = store.collection("race")
        await col.insert({"_id": "d", "a": 0, "b": 0, "version": 0})

        async def bump(field: str) -> None:
            for _ in range(60):
                await col.update("d", inc={field: 1, "version": 1})

        await asyncio.gather(*(bump(f) for f in ("a", "b", "a", "b")))
        doc = await col.get("d")
        await store.close()
        return doc

    doc = asyncio.run(run())
    assert doc is not None and (doc["a"], doc["b"], doc["version"]) == (120, 120, 240), doc

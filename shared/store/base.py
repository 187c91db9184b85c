"""The document store interface. Written once; MongoDB and an embedded implementation.

It is deliberately small: what both MongoDB and FerretDB 1.x support, and nothing that needs a
multi-document transaction. Atomicity is per document, so designs that must be atomic (an entity
and its pending events: the outbox) keep what must change together in one document.

Filters (``where``) are dicts of field -> value (equality, dotted paths allowed) or
field -> {op: value} with op in ``$in $nin $ne $lt $lte $gt $gte $exists``. Updates use
``set``, ``unset``, ``inc`` and ``push`` (append one value to an array).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
Doc = dict[str, Any]
Where = Mapping[str, Any]
Sort = Sequence[tuple[str, int]]  # (field, 1 ascending | -1 descending)


# Writes of one batch sent at once, at most. FerretDB 1.x on PostgreSQL wedged for good when
# two services sent a few hundred concurrent updates (its 50 PostgreSQL connections idle, every
# client waiting): a request seems to hold one pooled connection while it waits for another.
MAX_CONCURRENT_WRITES = 8


async def gather_writes(writes: Iterable[Awaitable[T]], limit: int = MAX_CONCURRENT_WRITES) -> list[T]:
    """Await independent writes (e.g. one per document) with at most ``limit`` in flight, in order."""
    gate = asyncio.Semaphore(limit)

    async def one(write: Awaitable[T]) -> T:
        async with gate:
            return await write

    return list(await asyncio.gather(*(one(w) for w in writes)))


async def get_many(collection: Collection, ids: Iterable[str]) -> list[Doc]:
    """The stored documents of ``ids`` (absent ones left out), one read by id each, a few at a
    time. Not one ``{"_id": {"$in": ids}}`` query: FerretDB 1.x pushes only an ``_id`` equality
    down to its backend, so an ``$in`` scans the whole collection (on SQLite, seconds per batch
    once it holds thousands of documents)."""
    found = await gather_writes(collection.get(id) for id in ids)
    return [doc for doc in found if doc is not None]


class StoreUnavailable(RuntimeError):
    """The database could not be reached."""


class Collection(ABC):
    @abstractmethod
    async def get(self, id: str) -> Doc | None: ...

    @abstractmethod
    async def insert(self, doc: Doc) -> bool:
        """Insert ``doc`` (it has ``_id``); False if that id already exists. Use for idempotency."""

    async def insert_many(self, docs: Sequence[Doc]) -> list[bool]:
        """Insert each document, in order, as ``insert`` would; per document, whether it was new.

        Why: a consumer handling a batch creates many documents on deterministic ids (that is
        its idempotency), and each insert is a round trip; adapters send them together.
        """
        return [await self.insert(doc) for doc in docs]

    @abstractmethod
    async def replace(self, doc: Doc, *, upsert: bool = True) -> None:
        """Replace the whole document with this ``_id``."""

    async def replace_many(self, docs: Sequence[Doc]) -> None:
        """Replace (upsert) each document by its ``_id``, in order; not atomic across documents.

        Why: a change of one entity can rewrite many documents (a profile's matches), and each
        write is a round trip; adapters send them together where the database allows.
        """
        for doc in docs:
            await self.replace(doc)

    @abstractmethod
    async def update(
        self,
        id: str,
        *,
        set: Mapping[str, Any] | None = None,
        unset: Sequence[str] | None = None,
        inc: Mapping[str, int | float] | None = None,
        push: Mapping[str, Any] | None = None,
        where: Where | None = None,
        upsert: bool = False,
    ) -> bool:
        """Atomically change one document if it matches ``{_id: id, **where}``; True if it did.

        ``where`` makes optimistic concurrency possible: ``where={"version": 3}``.
        """

    @abstractmethod
    async def find(
        self, where: Where | None = None, *, sort: Sort | None = None, limit: int = 0, skip: int = 0
    ) -> list[Doc]: ...

    @abstractmethod
    async def count(self, where: Where | None = None) -> int: ...

    @abstractmethod
    async def delete(self, id: str) -> bool: ...

    @abstractmethod
    async def delete_many(self, where: Where) -> int: ...

    @abstractmethod
    async def ensure_index(self, fields: Sequence[tuple[str, int]], *, unique: bool = False) -> None: ...


class Store(ABC):
    @abstractmethod
    def collection(self, name: str) -> Collection: ...

    @abstractmethod
    async def ping(self) -> bool: ...

    @abstractmethod
    async def close(self) -> None: ...

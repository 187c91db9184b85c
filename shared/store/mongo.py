"""The MongoDB adapter of the store interface, on PyMongo's async API.

``pymongo.AsyncMongoClient`` is the maintained successor of motor, which MongoDB deprecated.
The same code talks to MongoDB in docker-compose and to FerretDB 1.x (SQLite backend) in the
project's own tests; it therefore uses only single-document operations both support.

**FerretDB 1.x does not apply an update atomically**: it reads the document, applies the
operators and writes the result back, so two concurrent updates of one document can lose one of
them — four clients each sending 150 ``$inc`` to one document left 129 and 114 of 300 on SQLite,
200 and 193 on PostgreSQL. The conditional updates the services rely on (``where={"version": n}``
guards, the outbox relay clearing a document only if it did not move) are then unsafe: an outbox
relay clearing a document could overwrite the funnel step written a moment before. Each service
owns its database and runs one writer process, so this adapter serialises the writes to one
document within the process (a lock per collection and id), which restores per-document
atomicity there. Against MongoDB the lock costs a dictionary lookup.

**Operations in flight are capped per client** (``max_pool``, ``MONGODB_MAX_POOL``): at most
that many operations of one ``MongoStore`` are at FerretDB at once, a ``find`` counted until its
cursor is drained, and PyMongo's pool has that many connections. FerretDB 1.24 on PostgreSQL
holds up to two pooled PostgreSQL connections per operation (an update reads through an open
query while it writes in a transaction on a second connection) and one per open cursor between
``getMore`` calls; when its pool (``pool_max_conns``) is smaller than what the operations in
flight can hold, every operation waits for a connection another one holds, for good. The cap
alone on PyMongo's pool does not bound cursors (a cursor keeps its PostgreSQL connection while
its PyMongo connection is back in the pool), hence the semaphore. docs/store.md ("Connections")
has the arithmetic the PostgreSQL pool is sized by.

**A multi-statement ``update`` command is not one operation** to FerretDB 1.24 on PostgreSQL: it
keeps each matched statement's query open (one pooled connection each) until the whole command
returns, and takes one more for every write, so a ``bulk_write`` of *s* replacements of existing
documents holds up to *s* + 1 connections. One such command larger than the pool waits for good
on itself and FerretDB stops answering anything, ``ping`` included (scripts/ferretdb_wedge.py,
``bulk-*``). ``replace_many`` therefore sends commands of at most ``max_pool`` statements and
counts each as the slots its connections are worth (two connections a slot).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from pymongo import AsyncMongoClient, ReplaceOne, monitoring
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
)

from shared.metrics import STORE_COMMANDS, STORE_DOCUMENTS, STORE_SECONDS
from shared.store.base import Collection, Doc, Sort, Store, StoreUnavailable, Where

DUPLICATE_KEY = 11000
DEFAULT_MAX_POOL = 10
P = ParamSpec("P")
R = TypeVar("R")


def _unavailable_on_connection_failure(
    fn: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """A database that cannot be reached is ``StoreUnavailable`` (a 503), not a driver error (a 500)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except ConnectionFailure as exc:  # server selection timeouts and lost connections
            raise StoreUnavailable(f"database unreachable: {exc.__class__.__name__}") from exc
        except OperationFailure as exc:
            if backend_down(exc):
                raise StoreUnavailable(f"database backend unreachable: {exc.code}") from exc
            raise

    return wrapper


def backend_down(exc: OperationFailure) -> bool:
    """FerretDB answers ``InternalError`` (code 1) when the PostgreSQL (or SQLite) under it fails,
    e.g. ``failed to connect to `user=ferretdb …`: … the database system is not yet accepting
    connections``: the database is unavailable (a 503 to retry, found by ``make chaos`` killing
    PostgreSQL), not a bad request. MongoDB does not use that code for a client's mistake."""
    return exc.code == 1 or (exc.details or {}).get("codeName") == "InternalError"


_WRITES = {"insert": "documents", "update": "updates", "delete": "deletes"}
_COUNTED = {"find", "getMore", "aggregate", "count", "insert", "update", "delete", "createIndexes"}


class CommandMetrics(monitoring.CommandListener):
    """Counts the commands this client sends, the documents its writes carry and their time, by
    collection, into ``/metrics`` (``shared.metrics.STORE_*``); handshakes and pings are left out.

    Why a listener: it sees what PyMongo really sends (a ``get_many`` is one ``find`` per id; a
    ``replace_many`` one ``update`` of many statements), which the adapter's methods would have to
    guess. PyMongo calls it synchronously on the event loop, so it only counts.
    """

    def __init__(self) -> None:
        self._started: dict[int, tuple[str, str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name not in _COUNTED:
            return
        target = event.command.get(name)
        collection = target if isinstance(target, str) else "?"
        if name == "getMore":
            collection = str(event.command.get("collection", "?"))
        self._started[event.request_id] = (name, collection)
        STORE_COMMANDS.labels(name, collection).inc()
        field = _WRITES.get(name)
        if field is not None:
            STORE_DOCUMENTS.labels(name, collection).inc(len(event.command.get(field) or ()))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._finished(event.request_id, event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._finished(event.request_id, event.duration_micros)

    def _finished(self, request_id: int, micros: int) -> None:
        key = self._started.pop(request_id, None)
        if key is not None:
            STORE_SECONDS.labels(*key).inc(micros / 1e6)


class _DocumentLocks:
    """One lock per document being written, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, Any], asyncio.Lock] = {}
        self._users: dict[tuple[str, Any], int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, collection: str, id: Any) -> AsyncIterator[None]:
        key = (collection, id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


class Slots:
    """A client's share of FerretDB's PostgreSQL pool, in slots of two connections: an ordinary
    operation takes one (``async with slots``), a command that may hold more takes several."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a client needs at least one slot")
        self.size = size
        self._free = asyncio.Semaphore(size)
        # One gatherer at a time: two taking several slots one by one could each hold a part
        # and wait for the rest. Single takers never wait while holding, so they need no turn.
        self._gathering = asyncio.Lock()

    async def __aenter__(self) -> None:
        await self._free.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self._free.release()

    @contextlib.asynccontextmanager
    async def several(self, count: int) -> AsyncIterator[None]:
        count = max(1, min(count, self.size))
        taken = 0
        try:
            async with self._gathering:
                for _ in range(count):
                    await self._free.acquire()
                    taken += 1
            yield
        finally:
            for _ in range(taken):
                self._free.release()


def replace_commands(docs: Sequence[Doc], slots: int) -> list[tuple[list[Doc], int]]:
    """``docs`` cut into update commands a client with ``slots`` may send, each with the slots it
    takes: a command of *s* replacements may hold *s* + 1 PostgreSQL connections in FerretDB
    1.24 (module docstring), two a slot, so *s* ≤ ``slots`` keeps it within the client's share."""
    size = max(1, slots)
    parts = [list(docs[i : i + size]) for i in range(0, len(docs), size)]
    return [(part, (len(part) + 2) // 2) for part in parts]


class MongoCollection(Collection):
    def __init__(self, coll: Any, locks: _DocumentLocks | None = None, slots: Slots | None = None) -> None:
        self._c = coll
        self._locks = locks or _DocumentLocks()
        self._slots = slots or Slots(DEFAULT_MAX_POOL)
        self._name = str(getattr(coll, "name", ""))

    @_unavailable_on_connection_failure
    async def get(self, id: str) -> Doc | None:
        async with self._slots:
            doc: Doc | None = await self._c.find_one({"_id": id})
        return doc

    @_unavailable_on_connection_failure
    async def insert(self, doc: Doc) -> bool:
        try:
            async with self._slots:
                await self._c.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    @_unavailable_on_connection_failure
    async def insert_many(self, docs: Sequence[Doc]) -> list[bool]:
        """One ``insert`` command (one round trip); a duplicate id fails alone, the rest go in."""
        if not docs:
            return []
        try:
            async with self._slots:
                await self._c.insert_many(list(docs), ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            duplicates = {int(e["index"]) for e in errors}
            return [i not in duplicates for i in range(len(docs))]
        return [True] * len(docs)

    @_unavailable_on_connection_failure
    async def replace(self, doc: Doc, *, upsert: bool = True) -> None:
        async with self._locks.hold(self._name, doc["_id"]), self._slots:
            await self._c.replace_one({"_id": doc["_id"]}, doc, upsert=upsert)

    @_unavailable_on_connection_failure
    async def replace_many(self, docs: Sequence[Doc]) -> None:
        """``update`` commands of up to ``max_pool`` statements, in order (a round trip per
        command, not per document); never one command larger than the client's pool share."""
        for part, slots in replace_commands(docs, self._slots.size):
            async with self._slots.several(slots):
                await self._c.bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in part])

    @_unavailable_on_connection_failure
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
        ops: dict[str, Any] = {}
        if set:
            ops["$set"] = dict(set)
        if unset:
            ops["$unset"] = {path: "" for path in unset}
        if inc:
            ops["$inc"] = dict(inc)
        if push:
            ops["$push"] = dict(push)
        if not ops:
            async with self._slots:
                return await self._c.count_documents({"_id": id, **(where or {})}, limit=1) > 0
        try:
            async with self._locks.hold(self._name, id), self._slots:
                result = await self._c.update_one({"_id": id, **(where or {})}, ops, upsert=upsert)
        except DuplicateKeyError:
            return False  # upsert raced with an existing document that did not match ``where``
        return bool(result.matched_count or result.upserted_id is not None)

    @_unavailable_on_connection_failure
    async def find(
        self, where: Where | None = None, *, sort: Sort | None = None, limit: int = 0, skip: int = 0
    ) -> list[Doc]:
        cursor = self._c.find(dict(where or {}))
        if sort:
            cursor = cursor.sort(list(sort))
        if skip:
            cursor = cursor.skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        async with self._slots:  # until drained: an open cursor holds a connection in FerretDB
            return [doc async for doc in cursor]

    @_unavailable_on_connection_failure
    async def count(self, where: Where | None = None) -> int:
        async with self._slots:
            return int(await self._c.count_documents(dict(where or {})))

    @_unavailable_on_connection_failure
    async def delete(self, id: str) -> bool:
        async with self._slots:
            return bool((await self._c.delete_one({"_id": id})).deleted_count)

    @_unavailable_on_connection_failure
    async def delete_many(self, where: Where) -> int:
        async with self._slots:
            return int((await self._c.delete_many(dict(where))).deleted_count)

    @_unavailable_on_connection_failure
    async def ensure_index(self, fields: Sequence[tuple[str, int]], *, unique: bool = False) -> None:
        async with self._slots:
            await self._c.create_index(list(fields), unique=unique)


class MongoStore(Store):
    def __init__(
        self, url: str, database: str, *, timeout_ms: int = 5000, max_pool: int = DEFAULT_MAX_POOL
    ) -> None:
        if max_pool < 1:
            raise ValueError("max_pool must be at least 1")
        # The keyword wins over a maxPoolSize in the URL: the cap is what the arithmetic counts.
        self._client: AsyncMongoClient[Doc] = AsyncMongoClient(
            url,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            tz_aware=True,
            maxPoolSize=max_pool,
            event_listeners=[CommandMetrics()],
        )
        self._db = self._client[database]
        self._locks = _DocumentLocks()
        self._slots = Slots(max_pool)

    def collection(self, name: str) -> Collection:
        return MongoCollection(self._db[name], self._locks, self._slots)

    async def ping(self) -> bool:
        """True when a query reaches the data: FerretDB answers ``ping`` by itself even while
        the PostgreSQL under it is down, so the readiness check also lists the collections."""
        try:
            await self._client.admin.command("ping")
            await self._db.list_collection_names()
            return True
        except PyMongoError:
            return False

    async def close(self) -> None:
        await self._client.close()

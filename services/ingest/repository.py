"""Postings and profiles in the store: every accepted change is one atomic single-document write.

A change reads the document, computes the new data and events, and writes them back with
``where={"version": read_version}``; if someone else wrote in between, the write does not
apply and the change is recomputed from the fresh document (a few times, then 409). The events
are appended to the same document's outbox in that same write, so an entity is never changed
without its events, nor announced without being changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from services.ingest.documents import (
    DELETED,
    Kind,
    area_of,
    data_of,
    forgotten,
    id_number_key,
    identity_key,
    new_document,
    now_iso,
    outbox_entry,
    public,
)
from shared.events import tombstones
from shared.logging import get_logger
from shared.outbox import WriteHook, no_hook
from shared.store.base import Collection, Doc, Store

log = get_logger("ingest.repository")

MAX_ATTEMPTS = 5


class NotFound(LookupError):
    """No such entity, or it was deleted."""


class Conflict(RuntimeError):
    """The entity kept changing under us; the client should re-read and retry."""


Allow = Callable[[Doc], bool]
"""An access check on the stored document, run on the very version a change is computed from."""


class Forbidden(PermissionError):
    """The caller may not touch this entity (its ``allow`` check said no)."""


class Repository:
    def __init__(self, store: Store, kind: Kind, on_write: WriteHook = no_hook) -> None:
        self.kind = kind
        self.col: Collection = store.collection(kind.collection)
        self._migrations: Collection = store.collection("migrations")
        self._on_write = on_write

    async def ensure_indexes(self) -> None:
        await self.col.ensure_index([("outbox_pending", 1)])
        await self.col.ensure_index([("status", 1), ("created_at", -1)])
        await self.col.ensure_index([("area", 1), ("created_at", -1)])
        await self.col.ensure_index([("identity", 1)])
        await self.col.ensure_index([("identity_id", 1)])
        await self._backfill("area", lambda data: area_of(self.kind.adcode_of(data)))
        await self._backfill("identity", lambda data: identity_key(self.kind.parse(data)))
        await self._backfill("identity_id", lambda data: id_number_key(self.kind.parse(data)))
        if self.kind.forget_on_delete:
            await self._forget_deleted()

    async def _backfill(self, field: str, compute: Callable[[dict[str, Any]], Any]) -> None:
        """Give documents written before ``field`` existed theirs (``area`` came with access
        control, ``identity`` with indexed import lookups), once per database.

        A marker document (by ``_id``, cheap to read) records that it was done, because finding
        the documents without the field means decoding the whole collection, which must not
        happen on every start. Not an entity change: no version bump, no event.
        """
        marker = f"{field}-backfilled:{self.kind.collection}"
        if await self._migrations.get(marker) is not None:
            return
        for doc in await self.col.find({field: {"$exists": False}}):
            value = compute(doc["data"]) if doc.get("data") else None  # a forgotten seeker: nothing
            await self.col.update(doc["_id"], set={field: value}, where={"version": doc["version"]})
        await self._migrations.replace({"_id": marker, "at": now_iso()})

    async def _forget_deleted(self) -> None:
        """Erase the data of seekers deleted before deletion erased it, once per database, and
        have the relay publish their tombstones, so the compacted topics forget them too."""
        marker = f"deleted-forgotten:{self.kind.collection}"
        if await self._migrations.get(marker) is not None:
            return
        for doc in await self.col.find({"status": DELETED}):
            if doc.get("data"):
                fields = {
                    **forgotten(at=now_iso()),
                    "outbox": [
                        *(doc.get("outbox") or []),
                        *(outbox_entry(t) for t in tombstones(doc["_id"])),
                    ],
                    "outbox_pending": True,
                }
                await self.col.update(doc["_id"], set=fields, where={"version": doc["version"]})
        await self._migrations.replace({"_id": marker, "at": now_iso()})

    async def create(self, model: BaseModel) -> dict[str, Any]:
        doc = new_document(self.kind, model)
        if not await self.col.insert(doc):  # a uuid collision: practically impossible
            raise Conflict("id already exists")
        log.info(f"{self.kind.name} created", id=doc["_id"], version=1)
        self._on_write(self.kind.collection, doc["_id"], doc)
        return public(doc)

    async def create_many(self, models: Sequence[BaseModel]) -> list[dict[str, Any] | None]:
        """Create each entity as ``create`` does, in one insert command (a spreadsheet's new rows).

        Each document carries its own events, so each row is still stored with them or not at
        all; the command is not atomic across documents, and needs not be. Per model, the created
        entity, or None for a uuid collision (practically impossible; that one only is refused).
        """
        docs = [new_document(self.kind, model) for model in models]
        inserted = await self.col.insert_many(docs)
        out: list[dict[str, Any] | None] = []
        for doc, new in zip(docs, inserted, strict=True):
            if new:
                self._on_write(self.kind.collection, doc["_id"], doc)
            out.append(public(doc) if new else None)
        if docs:
            log.info(f"{self.kind.name}s created", count=sum(inserted), version=1)
        return out

    async def get(self, id: str, allow: Allow | None = None) -> dict[str, Any]:
        return public(await self._live(id, allow))

    async def find_live(self, where: Mapping[str, Any]) -> Doc | None:
        docs = await self.col.find({**where, "status": {"$ne": DELETED}}, sort=[("created_at", 1)], limit=1)
        return docs[0] if docs else None

    async def page(
        self, *, status: str | None, limit: int, offset: int, scope: Mapping[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """One page, newest first; ``scope`` narrows it to what the caller may see."""
        where: dict[str, Any] = {"status": status} if status else {"status": {"$ne": DELETED}}
        where.update(scope or {})
        docs = await self.col.find(where, sort=[("created_at", -1), ("_id", -1)], limit=limit, skip=offset)
        return [public(d) for d in docs], await self.col.count(where)

    async def page_after(
        self, *, status: str | None, limit: int, after: str, scope: Mapping[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page in id order after the id ``after`` ("" for the first); the next cursor or None.

        Why beside ``page``: skipping and counting cost the whole collection on every page,
        while a range on ``_id`` starts where the previous page ended, whatever the page number.
        """
        where: dict[str, Any] = {"status": status} if status else {"status": {"$ne": DELETED}}
        where.update(scope or {})
        if after:
            where["_id"] = {"$gt": after}
        docs = await self.col.find(where, sort=[("_id", 1)], limit=limit + 1)  # one more: is there a next?
        more = len(docs) > limit
        docs = docs[:limit]
        return [public(d) for d in docs], (docs[-1]["_id"] if more else None)

    async def replace(self, id: str, model: BaseModel, allow: Allow | None = None) -> dict[str, Any]:
        """Replace the validated fields as a whole; an identical replacement writes nothing."""

        def change(doc: Doc) -> tuple[BaseModel, str] | None:
            status = self.kind.status_of(model, doc["status"])
            if doc["data"] == data_of(model) and status == doc["status"]:
                return None
            return model, status

        return await self._change(id, change, allow)

    async def set_status(self, id: str, status: str, allow: Allow | None = None) -> dict[str, Any]:
        """Close a posting, or mark a seeker hired/paused/looking (kept in ``data.status`` too)."""

        def change(doc: Doc) -> tuple[BaseModel, str] | None:
            if doc["status"] == status:
                return None  # idempotent: no version bump, no event
            data = dict(doc["data"])
            if self.kind.name == "profile":
                data["status"] = status
            return self.kind.parse(data), status

        return await self._change(id, change, allow)

    async def apply_once(
        self, id: str, mark: str, change: Callable[[Doc], tuple[BaseModel, str] | None]
    ) -> dict[str, Any]:
        """A change another service's event asks for, applied at most once per ``mark`` (its event id).

        The mark is pushed to the document's ``applied`` list in the same write as the change, so
        a redelivered event finds it there and changes nothing (an increment must not count twice).
        """
        return await self._change(id, change, mark=mark)

    async def delete(self, id: str, allow: Allow | None = None) -> None:
        """A posting is marked deleted and keeps its data (no personal data, and its employer's
        history); a seeker is forgotten: the document keeps no personal data (``forgotten``),
        and its outbox holds only the deletion events and tombstones — events still waiting
        there (an upsert carrying the phone) are dropped, as the deletion supersedes them."""
        if not self.kind.forget_on_delete:
            await self._change(id, lambda doc: (self.kind.parse(doc["data"]), DELETED), allow)
            return
        for _ in range(MAX_ATTEMPTS):
            doc = await self._live(id, allow)
            version = int(doc["version"]) + 1
            events = self.kind.events(self.kind.parse(doc["data"]), id=id, version=version, status=DELETED)
            fields = {**forgotten(at=now_iso()), "outbox": events, "outbox_pending": True}
            if await self.col.update(id, set=fields, inc={"version": 1}, where={"version": doc["version"]}):
                log.info(f"{self.kind.name} deleted and its data erased", id=id, version=version)
                self._on_write(self.kind.collection, id)
                return
        raise Conflict(f"{self.kind.name} {id} is being changed concurrently; retry")

    async def _live(self, id: str, allow: Allow | None = None) -> Doc:
        doc = await self.col.get(id)
        if doc is None or doc["status"] == DELETED:
            raise NotFound(id)
        if allow is not None and not allow(doc):
            raise Forbidden(id)
        return doc

    async def _change(
        self,
        id: str,
        change: Callable[[Doc], tuple[BaseModel, str] | None],
        allow: Allow | None = None,
        mark: str | None = None,
    ) -> dict[str, Any]:
        for _ in range(MAX_ATTEMPTS):
            doc = await self._live(id, allow)
            if mark is not None and mark in (doc.get("applied") or []):
                return public(doc)
            outcome = change(doc)
            if outcome is None:
                return public(doc)
            model, status = outcome
            version = int(doc["version"]) + 1
            events = self.kind.events(model, id=id, version=version, status=status)
            data = data_of(model)
            fields = {
                "data": data,
                "area": area_of(self.kind.adcode_of(data)),
                "identity": identity_key(model),
                "identity_id": id_number_key(model),
                "status": status,
                "updated_at": now_iso(),
                "outbox_pending": True,
            }
            applied = await self.col.update(
                id,
                set=fields,
                inc={"version": 1},
                push={"outbox": {"$each": events}, **({"applied": mark} if mark is not None else {})},
                where={"version": doc["version"]},
            )
            if applied:
                log.info(f"{self.kind.name} changed", id=id, version=version, status=status)
                self._on_write(self.kind.collection, id)
                return public({**doc, **fields, "version": version})
        raise Conflict(f"{self.kind.name} {id} is being changed concurrently; retry")

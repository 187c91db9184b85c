"""What campaign knows of seekers for the buses: where each lives, and her masked contact.

A bus plan groups confirmed seekers by home county and its manifest lists them with masked
phones, so campaign keeps, per seeker, the home area of ``profile.upserted`` (county and town,
never the street) and of ``contact.upserted`` only the masked name and ``mask_text(phone)``
(139****5678): a dispatcher reads out the last four digits at the door, nobody can call from
the sheet. ``contact.deleted`` (a seeker's deletion) removes both; so does a profile that
arrives deleted. Each is replaced only by a newer version, so a replay changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.consume import BatchRoutes, EventRouter, Routes
from shared.events import ContactDeleted, ContactUpserted, ProfileUpserted
from shared.masking import mask_text
from shared.store.base import Collection, Doc, Store, get_many

HOMES = "transport_homes"
CONTACTS = "transport_contacts"


def home_doc(event: ProfileUpserted) -> Doc:
    p = event.payload
    return {
        "_id": p.id,
        "version": p.version,
        "status": p.status,
        "adcode": p.home.adcode,
        "town": p.home.town,
    }


def contact_doc(event: ContactUpserted) -> Doc:
    c = event.payload
    return {
        "_id": c.profile_id,
        "version": c.version,
        "name": c.display_name,
        "phone": mask_text(c.phone) if c.phone else None,
    }


class SeekerDirectory(EventRouter):
    def __init__(self, store: Store) -> None:
        self.homes: Collection = store.collection(HOMES)
        self.contacts: Collection = store.collection(CONTACTS)

    def routes(self) -> Routes:
        return {
            ProfileUpserted: self._on_profile,
            ContactUpserted: self._on_contact,
            ContactDeleted: self._on_contact_deleted,
        }

    def batch_routes(self) -> BatchRoutes:
        """Profiles come in runs of thousands (an import): one read and one write per run."""
        return {ProfileUpserted: self.on_profiles, ContactUpserted: self.on_contacts}

    async def _on_profile(self, event: ProfileUpserted) -> None:
        await self.on_profiles([event])

    async def _on_contact(self, event: ContactUpserted) -> None:
        await self.on_contacts([event])

    async def on_profiles(self, events: Sequence[ProfileUpserted]) -> None:
        await _keep_newest(self.homes, [home_doc(e) for e in events])

    async def on_contacts(self, events: Sequence[ContactUpserted]) -> None:
        await _keep_newest(self.contacts, [contact_doc(e) for e in events])

    async def _on_contact_deleted(self, event: ContactDeleted) -> None:
        await self.homes.delete(event.payload.profile_id)
        await self.contacts.delete(event.payload.profile_id)

    async def homes_of(self, ids: Sequence[str]) -> dict[str, Doc]:
        return {d["_id"]: d for d in await get_many(self.homes, ids)}

    async def contacts_of(self, ids: Sequence[str]) -> dict[str, Doc]:
        return {d["_id"]: d for d in await get_many(self.contacts, ids)}


async def _keep_newest(collection: Collection, docs: list[Doc]) -> None:
    """Each seeker's newest version, written only over an older one. New seekers (an import:
    almost all of them) cost one insert for the run; only the known ones are read first."""
    newest: dict[str, Doc] = {}
    for doc in docs:
        if doc["_id"] not in newest or doc["version"] >= newest[doc["_id"]]["version"]:
            newest[doc["_id"]] = doc
    created = await collection.insert_many(list(newest.values()))
    known = [doc for doc, new in zip(newest.values(), created, strict=True) if not new]
    if not known:
        return
    held = {d["_id"]: d["version"] for d in await get_many(collection, [d["_id"] for d in known])}
    fresh = [d for d in known if d["version"] > held.get(d["_id"], -1)]
    if fresh:
        await collection.replace_many(fresh)

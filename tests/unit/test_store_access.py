"""Data access shaped for FerretDB: batched replaces, and import lookups on a top-level key.

FerretDB 1.x hands only top-level equality filters to its backend (where an index can answer
them); these tests pin the shapes that keep the hot paths on such filters.
"""

from __future__ import annotations

from services.ingest.documents import PROFILE, identity_key, new_document
from services.ingest.imports import identity
from services.ingest.repository import Repository
from shared.models import PostingIn, ProfileIn
from shared.store.memory import MemoryStore
from tests.examples import example


async def test_replace_many_upserts_each_document_in_order() -> None:
    c = MemoryStore().collection("x")
    await c.insert({"_id": "a", "n": 0})
    await c.replace_many([{"_id": "a", "n": 1}, {"_id": "b", "n": 2}, {"_id": "a", "n": 3}])
    assert [d["n"] for d in await c.find({}, sort=[("_id", 1)])] == [3, 2]
    await c.replace_many([])


def test_identity_is_one_top_level_string_per_phone_and_per_posting_place() -> None:
    profile = ProfileIn.model_validate(example("profile"))
    assert identity(profile) == {"identity": f"phone:{profile.phone}"}
    posting = PostingIn.model_validate(example("posting"))
    elsewhere = posting.location.model_copy(update={"adcode": "110101"})
    other_place = posting.model_copy(update={"location": elsewhere})
    assert identity_key(posting) != identity_key(other_place)
    assert "." not in next(iter(identity(posting)))  # a nested filter would never reach an index


async def test_documents_written_before_identity_get_it_once_without_a_new_version() -> None:
    store = MemoryStore()
    profile = ProfileIn.model_validate(example("profile"))
    old = new_document(PROFILE, profile, id="p1")
    del old["identity"]
    await store.collection("profiles").insert(old)
    repo = Repository(store, PROFILE)
    await repo.ensure_indexes()
    stored = await store.collection("profiles").get("p1")
    assert stored is not None
    assert stored["identity"] == identity_key(profile) and stored["version"] == 1
    found = await repo.find_live(identity(profile))
    assert found is not None and found["_id"] == "p1"
    await store.collection("profiles").update("p1", unset=["identity"])
    await repo.ensure_indexes()  # the marker says it was done: no second scan
    assert "identity" not in (await store.collection("profiles").get("p1") or {})


async def test_documents_written_before_access_control_get_their_area_once() -> None:
    store = MemoryStore()
    profile = ProfileIn.model_validate(example("profile"))
    old = new_document(PROFILE, profile, id="p1")
    area = old.pop("area")
    await store.collection("profiles").insert(old)
    repo = Repository(store, PROFILE)
    await repo.ensure_indexes()
    stored = await store.collection("profiles").get("p1")
    assert stored is not None and stored["area"] == area and stored["version"] == 1
    await store.collection("profiles").update("p1", unset=["area"])
    await repo.ensure_indexes()  # the marker says it was done: no scan on every start
    assert "area" not in (await store.collection("profiles").get("p1") or {})

"""An action on many seekers (a 500-row import) is audited in entries small enough for the
store's index on ``profile_ids``, together naming every seeker once."""

from __future__ import annotations

from shared.audit import MAX_IDS_PER_ENTRY, AuditLog
from shared.auth import Principal, Role
from shared.store.memory import MemoryStore


async def test_an_import_of_many_seekers_is_several_entries_alike_naming_each_once() -> None:
    store = MemoryStore()
    audit = AuditLog(store, "ingest")
    ids = [f"p{i:04d}" for i in range(2 * MAX_IDS_PER_ENTRY + 7)]
    await audit.record(Principal("o1", Role.official, ("4228",)), "profile.import", reversed(ids))
    entries = await store.collection("audit").find({})
    assert [len(e["profile_ids"]) for e in sorted(entries, key=lambda e: e["profile_ids"][0])] == [
        MAX_IDS_PER_ENTRY,
        MAX_IDS_PER_ENTRY,
        7,
    ]
    assert sorted(i for e in entries for i in e["profile_ids"]) == ids
    assert {(e["principal"], e["role"], e["action"], e["at"], e["service"]) for e in entries} == {
        ("o1", "official", "profile.import", entries[0]["at"], "ingest")
    }
    assert len({e["_id"] for e in entries}) == 3
    [one] = await store.collection("audit").find({"profile_ids": "p0100"})
    assert one["action"] == "profile.import"

"""An upload's rows are written in batches (one insert of the new seekers, lookups side by side)
with the outcome the rows would have had one by one."""

from __future__ import annotations

from collections.abc import Sequence

from services.ingest.documents import PROFILE
from services.ingest.imports import apply_rows, deferred_rows, parse_sheet
from services.ingest.repository import Repository
from services.ingest.spreadsheet import read_sheet
from shared.models import ProfileIn
from shared.store.base import Collection, Doc
from shared.store.memory import MemoryCollection, MemoryStore
from tests.unit.test_ingest_sheet_edges import id_number

ID_A = id_number("422801", "19900315", "123")
ID_B = id_number("422802", "19880101", "456")
HEADER = "姓名,手机号,身份证号,出生年份,户籍区县代码"


def sheet(*lines: str) -> bytes:
    return "\n".join([HEADER, *lines]).encode()


def test_only_a_later_row_finding_an_entity_found_before_waits() -> None:
    assert deferred_rows([None, "a", "b", None, "a", "c", "b", "a"]) == {4, 6, 7}
    assert deferred_rows([None, None]) == set()
    assert deferred_rows([]) == set()


class CountingCollection(MemoryCollection):
    """Counts the store commands an import sends (the batching is the point of the change)."""

    def __init__(self) -> None:
        super().__init__()
        self.inserts = 0
        self.bulk_inserts: list[int] = []

    async def insert(self, doc: Doc) -> bool:
        self.inserts += 1
        return await super().insert(doc)

    async def insert_many(self, docs: Sequence[Doc]) -> list[bool]:
        self.bulk_inserts.append(len(docs))
        return [await MemoryCollection.insert(self, d) for d in docs]


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.profiles = CountingCollection()

    def collection(self, name: str) -> Collection:
        return self.profiles if name == "profiles" else super().collection(name)


async def test_new_rows_of_an_upload_go_in_one_insert_each_with_its_events() -> None:
    store = CountingStore()
    kicked: list[str] = []
    handed: dict[str, Doc | None] = {}

    def on_write(_c: str, id: str, doc: Doc | None = None, /) -> None:
        kicked.append(id)
        handed[id] = doc

    repo = Repository(store, PROFILE, on_write=on_write)
    rows = [f"求职者{i},1390000{i:04d},,1990,422801" for i in range(30)]
    report = await apply_rows(repo, parse_sheet("profile", read_sheet(sheet(*rows, "坏行,123,,1990,422801"))))
    assert (report["created"], report["rejected"]) == (30, 1)
    assert store.profiles.bulk_inserts == [30] and store.profiles.inserts == 0
    ids = [r["id"] for r in report["rows"] if r["status"] == "created"]
    assert kicked == ids  # the relay is told of every new document, in row order
    for pid in ids:
        doc = await store.profiles.get(pid)
        assert doc is not None and doc["outbox_pending"]
        assert [e["type"] for e in doc["outbox"]] == ["profile.upserted", "contact.upserted"]
        assert handed[pid] == doc  # handed to the relay as stored: it need not read it back
    again = await apply_rows(repo, parse_sheet("profile", read_sheet(sheet(*rows))))
    assert (again["created"], again["updated"]) == (0, 30)  # found, identical: nothing written
    assert [r["id"] for r in again["rows"]] == ids
    assert await store.profiles.count() == 30


async def test_two_rows_finding_one_stored_seeker_end_as_they_would_one_by_one() -> None:
    """Stored: 张三 with phone 13800000001 and ID A. Row 2 (ID A, a new phone) finds her by ID
    number and moves her to the new phone; row 3 has her old phone and no ID number, so one by
    one it finds nobody any more and is a new seeker. Batched, both rows first found 张三: row 3
    must be looked up again after row 2 was written, not update 张三 too."""
    store = MemoryStore()
    repo = Repository(store, PROFILE)
    stored = await repo.create(
        ProfileIn.model_validate(
            {
                "name": "张三",
                "phone": "13800000001",
                "id_number": ID_A,
                "birth_year": 1990,
                "home": {"adcode": "422801"},
            }
        )
    )
    report = await apply_rows(
        repo,
        parse_sheet(
            "profile",
            read_sheet(sheet(f"张三,13900000002,{ID_A},1990,422801", "李四,13800000001,,1988,422802")),
        ),
    )
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[2] == {"row": 2, "status": "updated", "id": stored["id"], "errors": []}
    assert by_row[3]["status"] == "created" and by_row[3]["id"] != stored["id"]
    assert (await repo.get(stored["id"]))["phone"] == "13900000002"
    assert (await repo.get(by_row[3]["id"]))["name"] == "李四"


async def test_a_clash_found_in_the_batch_is_reported_on_its_row_and_the_rest_are_stored() -> None:
    store = MemoryStore()
    repo = Repository(store, PROFILE)
    for phone, id_no in (("13800000001", ID_A), ("13800000002", ID_B)):
        await repo.create(
            ProfileIn.model_validate(
                {
                    "name": "甲",
                    "phone": phone,
                    "id_number": id_no,
                    "birth_year": int(id_no[6:10]),
                    "home": {"adcode": "422801"},
                }
            )
        )
    report = await apply_rows(
        repo,
        parse_sheet(
            "profile",
            read_sheet(sheet(f"乙,13800000001,{ID_B},1988,422802", "丙,13700000003,,1991,422801")),
        ),
    )
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[2]["status"] == "rejected"
    assert by_row[2]["errors"][0]["reason"].startswith("手机号与身份证号分别属于两位已登记的求职者")
    assert by_row[3]["status"] == "created"
    assert await store.collection("profiles").count() == 3

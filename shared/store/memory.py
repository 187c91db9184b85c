"""The embedded document store: the store interface over dicts, for ``make run`` and unit tests.

It implements exactly the filter and update subset documented in ``shared.store.base``, with
the same per-document atomicity (an update runs without yielding to the event loop), and hands
out copies so that callers cannot mutate stored state by accident — as with a real database.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shared.store.base import Collection, Doc, Sort, Store, Where

_MISSING = object()


def _get_path(doc: Mapping[str, Any], path: str) -> Any:
    cur: Any = doc
    for part in path.split("."):
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
    return cur


def _set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    cur = doc
    for part in parts[:-1]:
        cur = cur.setdefault(part, {})
    cur[parts[-1]] = value


def _unset_path(doc: dict[str, Any], path: str) -> None:
    parts = path.split(".")
    cur: Any = doc
    for part in parts[:-1]:
        cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is None:
            return
    if isinstance(cur, dict):
        cur.pop(parts[-1], None)


def _eq(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list) and not isinstance(expected, list):
        return expected in actual  # MongoDB: equality on an array matches an element
    return bool(actual == expected)


def _cmp_ok(actual: Any, op: str, arg: Any) -> bool:
    if op == "$exists":
        return (actual is not _MISSING) == bool(arg)
    if op == "$ne":
        return actual is _MISSING or not _eq(actual, arg)
    if op == "$in":
        return actual is not _MISSING and any(_eq(actual, a) for a in arg)
    if op == "$nin":
        return actual is _MISSING or not any(_eq(actual, a) for a in arg)
    if actual is _MISSING or actual is None:
        return False
    try:
        if op == "$lt":
            return bool(actual < arg)
        if op == "$lte":
            return bool(actual <= arg)
        if op == "$gt":
            return bool(actual > arg)
        if op == "$gte":
            return bool(actual >= arg)
    except TypeError:
        return False
    raise ValueError(f"unsupported operator {op}")


def matches(doc: Mapping[str, Any], where: Where | None) -> bool:
    for path, cond in (where or {}).items():
        actual = _get_path(doc, path)
        if isinstance(cond, Mapping) and cond and all(str(k).startswith("$") for k in cond):
            if not all(_cmp_ok(actual, op, arg) for op, arg in cond.items()):
                return False
        elif actual is _MISSING:
            if cond is not None:
                return False
        elif not _eq(actual, cond):
            return False
    return True


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is _MISSING or value is None:
        return (0, 0)
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value)) if not hasattr(value, "isoformat") else (3, value.isoformat())


def _key_for(field: str) -> Callable[[Doc], tuple[int, Any]]:
    return lambda d: _sort_key(_get_path(d, field))


class MemoryCollection(Collection):
    def __init__(self) -> None:
        self._docs: dict[str, Doc] = {}

    async def get(self, id: str) -> Doc | None:
        doc = self._docs.get(id)
        return copy.deepcopy(doc) if doc is not None else None

    async def insert(self, doc: Doc) -> bool:
        if doc["_id"] in self._docs:
            return False
        self._docs[doc["_id"]] = copy.deepcopy(doc)
        return True

    async def replace(self, doc: Doc, *, upsert: bool = True) -> None:
        if doc["_id"] in self._docs or upsert:
            self._docs[doc["_id"]] = copy.deepcopy(doc)

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
        doc = self._docs.get(id)
        if doc is None:
            if not upsert:
                return False
            doc = {"_id": id}
            for path, cond in (where or {}).items():
                if not isinstance(cond, Mapping):
                    _set_path(doc, path, copy.deepcopy(cond))
        elif not matches(doc, where):
            return False
        new = copy.deepcopy(doc)
        for path, value in (set or {}).items():
            _set_path(new, path, copy.deepcopy(value))
        for path in unset or ():
            _unset_path(new, path)
        for path, amount in (inc or {}).items():
            current = _get_path(new, path)
            _set_path(new, path, (0 if current is _MISSING else current) + amount)
        for path, value in (push or {}).items():
            current = _get_path(new, path)
            items = list(current) if isinstance(current, list) else []
            if isinstance(value, Mapping) and "$each" in value:
                items.extend(copy.deepcopy(list(value["$each"])))
            else:
                items.append(copy.deepcopy(value))
            _set_path(new, path, items)
        self._docs[id] = new
        return True

    async def find(
        self, where: Where | None = None, *, sort: Sort | None = None, limit: int = 0, skip: int = 0
    ) -> list[Doc]:
        docs = [d for d in self._docs.values() if matches(d, where)]
        for field, direction in reversed(list(sort or [])):
            docs.sort(key=_key_for(field), reverse=direction < 0)
        docs = docs[skip:]
        if limit:
            docs = docs[:limit]
        return copy.deepcopy(docs)

    async def count(self, where: Where | None = None) -> int:
        return sum(1 for d in self._docs.values() if matches(d, where))

    async def delete(self, id: str) -> bool:
        return self._docs.pop(id, None) is not None

    async def delete_many(self, where: Where) -> int:
        ids = [i for i, d in self._docs.items() if matches(d, where)]
        for i in ids:
            del self._docs[i]
        return len(ids)

    async def ensure_index(self, fields: Sequence[tuple[str, int]], *, unique: bool = False) -> None:
        return None  # a dict scan is the embedded mode's index


class MemoryStore(Store):
    def __init__(self) -> None:
        self._collections: dict[str, MemoryCollection] = {}

    def collection(self, name: str) -> Collection:
        return self._collections.setdefault(name, MemoryCollection())

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None

"""In-memory match index at a province's scale: columns in NumPy arrays, no object per entity.

Why this shape:

- Each entity is one row in a set of typed columns (county index, wages, ages, shift, benefit
  and certificate bitmasks, flags). A million seekers cost about 200 bytes each instead of the
  few kilobytes of a pydantic object, and scoring a candidate set is a handful of vector ops.
- Ids are interned in one fixed-width byte array with an open-addressing hash table in NumPy
  (``_IdTable``), so there is no Python string or dict entry per entity either.
- Skill vectors are sparse rows in ELLPACK layout (a fixed ``max_tokens`` slots of token id +
  weight per row, token 0 = padding). Unlike CSR, a row can be rewritten in place when a posting
  changes, and scoring a candidate subset is a gather: ``(q[tok[rows]] * w[rows]).sum(1)``.
  ``skills_csr()`` gives the same matrix as ``scipy.sparse.csr_matrix`` for analysis.
- A spatial prefilter: postings are bucketed by county; seekers by (county, commute band), so
  a posting is compared only with seekers whose commute can reach it. Seekers willing to work
  anywhere in the province, out of province or to relocate live in their own short lists.
- Rows are never reused while referenced: an update that moves an entity to another bucket
  gives it a new row and kills the old one; dead rows are compacted away in bulk.

Scores equal ``scoring.score_pair``: the index stores the rows the scoring formulas read
(``features.profile_row``/``posting_row``) as columns and runs those very formulas
(``scoring.constraints``, ``scoring.factors``) on them; both search directions share one
routine (``_Table._score_rows``). Skill weights are float32, so scores agree up to ~1e-6. The
engine explains the chosen pairs with ``score_pair`` itself.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from scipy import sparse

from shared import places
from shared.events import PostingView, ProfileMatchView

from .scoring import benefits, constraints, distance, factors, priority, shift, skills, wage
from .scoring.features import (
    F_OUT,
    F_RELOCATE,
    F_WHOLE,
    PostingFeatures,
    ProfileFeatures,
    Row,
    posting_features,
    posting_row,
    profile_features,
    profile_row,
)
from .scoring.policy import Policy

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

CERT_OVERFLOW = np.uint64(1 << 63)  # a certificate beyond the 63 the index can name: unmatchable

# commute bands (km) for bucketing seekers; beyond the last, a seeker is "long range"
BANDS = (10.0, 20.0, 30.0, 50.0, 80.0, 120.0, 200.0)
# profile bucket kinds beyond the commute bands (0..6)
K_WHOLE, K_LONG, K_WIDE = 7, 8, 9
CHUNK = 16_384  # rows scored per vector pass before the bound is checked again


@dataclass(frozen=True)
class _Counties:
    index: dict[str, int]
    lon: F64
    lat: F64
    province: npt.NDArray[np.int32]


@lru_cache(maxsize=1)
def counties() -> _Counties:
    table = sorted(places.all_places(), key=lambda p: p.adcode)
    return _Counties(
        index={p.adcode: i for i, p in enumerate(table)},
        lon=np.radians(np.array([p.lon for p in table], dtype=np.float64)),
        lat=np.radians(np.array([p.lat for p in table], dtype=np.float64)),
        province=np.array([int(p.province) for p in table], dtype=np.int32),
    )


def distances_from(county: int) -> F64:
    """Great-circle km from one county to every county (the formula of ``places.distance_km``)."""
    c = counties()
    lat1, lon1 = c.lat[county], c.lon[county]
    h = np.sin((c.lat - lat1) / 2) ** 2 + math.cos(lat1) * np.cos(c.lat) * np.sin((c.lon - lon1) / 2) ** 2
    return np.asarray(2 * places.EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))), dtype=np.float64)


class Vocabulary:
    """Token and certificate ids shared by the posting and profile indexes."""

    def __init__(self) -> None:
        self.tokens: dict[str, int] = {"": 0}
        self.certs: dict[str, int] = {}

    def token(self, tok: str, create: bool = True) -> int:
        tid = self.tokens.get(tok)
        if tid is None:
            if not create:
                return 0
            tid = self.tokens[tok] = len(self.tokens)
        return tid

    def cert_mask(self, names: Iterable[str], create: bool) -> np.uint64:
        mask = 0
        for name in names:
            bit = self.certs.get(name)
            if bit is None and create and len(self.certs) < 63:
                bit = self.certs[name] = len(self.certs)
            mask |= (1 << bit) if bit is not None else (1 << 63 if create else 0)
        return np.uint64(mask)


class _IdTable:
    """Ids interned in one byte array, found through an open-addressing hash table in NumPy."""

    def __init__(self) -> None:
        self.ids = np.zeros(0, dtype="S8")
        self._keys = np.zeros(16, dtype=np.int64)
        self._rows = np.full(16, -1, dtype=np.int32)  # -1 empty, -2 deleted
        self._used = 0

    def _slot(self, key: str) -> tuple[int, int]:
        """(slot of key or -1, first free slot on its probe path)."""
        h = hash(key)
        mask = len(self._keys) - 1
        i = h & mask
        raw = key.encode()
        free = -1
        while True:
            row = int(self._rows[i])
            if row == -1:
                return -1, (free if free >= 0 else i)
            if row == -2:
                if free < 0:
                    free = i
            elif self._keys[i] == h and self.ids[row] == raw:
                return i, free
            i = (i + 1) & mask

    def get(self, key: str) -> int | None:
        slot, _ = self._slot(key)
        return None if slot < 0 else int(self._rows[slot])

    def put(self, key: str, row: int) -> None:
        raw = key.encode()
        if len(raw) > self.ids.dtype.itemsize:
            self.ids = self.ids.astype(f"S{max(len(raw), 2 * self.ids.dtype.itemsize)}")
        if row >= len(self.ids):
            self.ids = np.concatenate([self.ids, np.zeros(max(row + 1, len(self.ids)), dtype=self.ids.dtype)])
        self.ids[row] = raw
        slot, free = self._slot(key)
        if slot >= 0:
            self._rows[slot] = row
            return
        if self._rows[free] == -1:
            self._used += 1
        self._keys[free] = hash(key)
        self._rows[free] = row
        if self._used * 2 > len(self._keys):
            self._rehash(len(self._keys) * 2)

    def pop(self, key: str) -> int | None:
        slot, _ = self._slot(key)
        if slot < 0:
            return None
        row = int(self._rows[slot])
        self._rows[slot] = -2
        return row

    def _rehash(self, size: int) -> None:
        live = self._rows >= 0
        rows = self._rows[live]
        self._keys = np.zeros(size, dtype=np.int64)
        self._rows = np.full(size, -1, dtype=np.int32)
        self._used = 0
        for row in rows.tolist():
            key = self.ids[row].decode()
            _, free = self._slot(key)
            self._keys[free] = hash(key)
            self._rows[free] = row
            self._used += 1

    def rebuild(self, ids: npt.NDArray[np.bytes_]) -> None:
        self.ids = ids.copy()
        size = 16
        while size < 2 * len(ids) + 2:
            size *= 2
        self._keys = np.zeros(size, dtype=np.int64)
        self._rows = np.full(size, -1, dtype=np.int32)
        self._used = 0
        for row, raw in enumerate(ids.tolist()):
            key = raw.decode()
            _, free = self._slot(key)
            self._keys[free] = hash(key)
            self._rows[free] = row
            self._used += 1

    def nbytes(self) -> int:
        return int(self.ids.nbytes + self._keys.nbytes + self._rows.nbytes)


class _Table:
    """Rows of typed columns with ids, buckets, liveness and ELL skill vectors."""

    COLUMNS: ClassVar[dict[str, npt.DTypeLike]] = {}

    def __init__(self, policy: Policy, vocab: Vocabulary | None = None, *, year: int | None = None) -> None:
        self.policy = policy
        self.vocab = vocab or Vocabulary()
        self.year = year or date.today().year
        self.width = policy.skills.max_tokens
        self.n = 0
        self.dead = 0
        self.cols: dict[str, np.ndarray] = {k: np.zeros(0, dtype=dt) for k, dt in self.COLUMNS.items()}
        self.alive = np.zeros(0, dtype=bool)
        # token ids as uint16 while the vocabulary fits (half the skill rows' bytes), else int32
        self.tok = np.zeros((0, self.width), dtype=np.uint16)
        self.wt = np.zeros((0, self.width), dtype=np.float32)
        self.ids = _IdTable()
        self.buckets: dict[tuple[int, int], array[int]] = {}
        self.county_keys: dict[int, list[tuple[int, int]]] = {}  # county -> its bucket keys
        self.chunk = CHUNK
        self._q = np.zeros(1024, dtype=np.float32)

    # -- storage ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.n - self.dead

    def __contains__(self, id: str) -> bool:
        return self.ids.get(id) is not None

    def _grow(self, need: int) -> None:
        cap = len(self.alive)
        if need <= cap:
            return
        new = max(need, cap * 2, 1024)
        for k, col in self.cols.items():
            grown = np.zeros(new, dtype=col.dtype)
            grown[:cap] = col
            self.cols[k] = grown
        alive = np.zeros(new, dtype=bool)
        alive[:cap] = self.alive
        self.alive = alive
        tok = np.zeros((new, self.width), dtype=self.tok.dtype)
        tok[:cap] = self.tok
        self.tok = tok
        wt = np.zeros((new, self.width), dtype=np.float32)
        wt[:cap] = self.wt
        self.wt = wt

    def _vector(self, vec: dict[str, float]) -> tuple[list[int], list[float]]:
        ids = [self.vocab.token(t) for t in vec]
        pad = self.width - len(ids)
        return ids + [0] * pad, [*vec.values()] + [0.0] * pad

    def _put(
        self, id: str, bucket: tuple[int, int], values: dict[str, object], vec: dict[str, float]
    ) -> None:
        row = self.ids.get(id)
        if row is not None and self._bucket_of(row) != bucket:
            self._kill(row)
            row = None
        if row is None:
            self._grow(self.n + 1)
            row = self.n
            self.n += 1
            self.ids.put(id, row)
            self._bucket(bucket).append(row)
        for k, v in values.items():
            self.cols[k][row] = v
        tok, wt = self._vector(vec)
        if self.tok.dtype == np.uint16 and len(self.vocab.tokens) > 0xFFFF:
            self.tok = self.tok.astype(np.int32)
        self.tok[row] = tok
        self.wt[row] = wt
        self.alive[row] = True

    def _kill(self, row: int) -> None:
        if self.alive[row]:
            self.alive[row] = False
            self.dead += 1

    def remove(self, id: str) -> bool:
        row = self.ids.pop(id)
        if row is None:
            return False
        self._kill(row)
        if self.dead > 4096 and self.dead * 4 > self.n:
            self.compact()
        return True

    def compact(self) -> None:
        """Drop dead rows and renumber; O(n), amortised over many removals."""
        keep = np.nonzero(self.alive[: self.n])[0]
        for k in self.cols:
            self.cols[k] = self.cols[k][keep].copy()
        self.tok = self.tok[keep].copy()
        self.wt = self.wt[keep].copy()
        self.alive = np.ones(len(keep), dtype=bool)
        self.ids.rebuild(self.ids.ids[keep])
        self.n = len(keep)
        self.dead = 0
        self.buckets = {}
        self.county_keys = {}
        for row in range(self.n):
            self._bucket(self._bucket_of(row)).append(row)

    def _bucket(self, key: tuple[int, int]) -> array[int]:
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = array("i")
            self.county_keys.setdefault(key[0], []).append(key)
        return bucket

    def _bucket_of(self, row: int) -> tuple[int, int]:
        raise NotImplementedError

    def _rows(self, keys: Iterable[tuple[int, int]]) -> I64:
        parts = [np.frombuffer(self.buckets[k], dtype=np.int32) for k in keys if k in self.buckets]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        rows = np.concatenate(parts).astype(np.int64)
        return rows[self.alive[rows]]

    def _dots(self, vec: dict[str, float], rows: I64) -> F64 | float:
        """Cosine of a query's skill bag with each row's, as a gather over the ELL slots."""
        if not vec:
            return 0.0
        if len(self._q) < len(self.vocab.tokens):
            self._q = np.zeros(2 * len(self.vocab.tokens), dtype=np.float32)
        ids = [self.vocab.token(t, create=False) for t in vec]
        for tid, w in zip(ids, vec.values(), strict=True):
            if tid:
                self._q[tid] = w
        dots = (self._q[self.tok[rows]] * self.wt[rows]).sum(axis=1, dtype=np.float64)
        for tid in ids:
            self._q[tid] = 0.0
        return dots

    def _pair(self, query: Row, rows: Row) -> tuple[Row, Row]:
        """(seeker, posting) of a query against this table's rows."""
        raise NotImplementedError

    def _score_rows(
        self, query: Row, vec: dict[str, float], origin: int, dist_all: F64, rows: I64
    ) -> tuple[I64, F64]:
        """The rows that may match the query, with their scores: one routine for both directions.

        The constraints read a few columns of every candidate row; the factors gather the rest
        only for the rows that pass.
        """
        c = counties()
        county = self.cols["county"][rows]
        d = dist_all[county]
        same_province = c.province[county] == c.province[origin]
        ok = constraints.feasible(*self._pair(query, _Gather(self.cols, rows)), d, same_province, self.year)
        rows, d = rows[ok], d[ok]
        if len(rows) == 0:
            return rows, np.zeros(0)
        profile, posting = self._pair(query, _Gather(self.cols, rows))
        scores = factors.total(
            factors.scores(profile, posting, d, self._dots(vec, rows), self.policy), self.policy
        )
        return rows, np.asarray(scores, dtype=np.float64)

    def _search(
        self,
        groups: list[tuple[float, list[tuple[int, int]]]],
        score_rows: Callable[[I64], tuple[I64, F64]],
        bound: Callable[[float], float],
        k: int,
        exclude: Iterable[str],
    ) -> list[tuple[str, float]]:
        """Score candidate buckets nearest first, stopping when no farther row can enter the top k.

        ``groups`` are (distance lower bound, bucket keys), sorted by distance; ``bound(d)`` is an
        upper bound on the score of any row at distance >= d. Exact: a row is skipped only when
        its bound is strictly below the k-th best score found so far.
        """
        skip = np.array([r for r in (self.ids.get(x) for x in exclude) if r is not None], dtype=np.int64)
        best_rows = np.zeros(0, dtype=np.int64)
        best_scores = np.zeros(0, dtype=np.float64)
        pending: list[tuple[int, int]] = []
        pending_n = 0

        def flush() -> None:
            nonlocal best_rows, best_scores, pending, pending_n
            rows = self._rows(pending)
            pending, pending_n = [], 0
            if len(skip) and len(rows):
                rows = rows[~np.isin(rows, skip)]
            if len(rows) == 0:
                return
            rows, scores = score_rows(rows)
            best_rows = np.concatenate([best_rows, rows])
            best_scores = np.concatenate([best_scores, scores])
            if len(best_rows) > k:
                kth = np.partition(best_scores, len(best_scores) - k)[len(best_scores) - k]
                keep = best_scores >= kth - 1e-9
                best_rows, best_scores = best_rows[keep], best_scores[keep]

        for d, keys in groups:
            if pending_n >= self.chunk:
                flush()
            if len(best_rows) >= k and k > 0:
                kth = np.partition(best_scores, len(best_scores) - k)[len(best_scores) - k]
                if bound(d) < kth - 1e-9:
                    break
            pending.extend(keys)
            pending_n += sum(len(self.buckets[key]) for key in keys)
        if pending:
            flush()
        return self._top(best_rows, best_scores, k)

    def _top(self, rows: I64, scores: F64, k: int) -> list[tuple[str, float]]:
        if len(rows) == 0 or k <= 0:
            return []
        if len(rows) > k:
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            sel = np.nonzero(scores >= kth - 1e-9)[0]
            rows, scores = rows[sel], scores[sel]
        ids = self.ids.ids[rows].tolist()
        order = sorted(range(len(ids)), key=lambda i: (-float(scores[i]), ids[i]))[:k]
        return [(ids[i].decode(), float(scores[i])) for i in order]

    def skills_csr(self) -> sparse.csr_matrix:
        live = np.nonzero(self.alive[: self.n])[0]
        tok, wt = self.tok[live], self.wt[live]
        mask = tok > 0
        indptr = np.concatenate([[0], np.cumsum(mask.sum(axis=1))])
        return sparse.csr_matrix((wt[mask], tok[mask], indptr), shape=(len(live), len(self.vocab.tokens)))

    def nbytes(self) -> int:
        """Resident bytes of the columns, skill rows, id table and buckets (not the shared vocabulary)."""
        cols = sum(c.nbytes for c in self.cols.values())
        buckets = sum(a.itemsize * len(a) for a in self.buckets.values())
        return int(cols + self.alive.nbytes + self.tok.nbytes + self.wt.nbytes + self.ids.nbytes() + buckets)


class _Gather(Mapping[str, Any]):
    """Some rows of a table's columns, each column gathered when a formula reads it."""

    def __init__(self, cols: dict[str, np.ndarray], rows: I64) -> None:
        self._cols = cols
        self._rows = rows

    def __getitem__(self, key: str) -> np.ndarray:
        return self._cols[key][self._rows]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cols)

    def __len__(self) -> int:
        return len(self._cols)


class PostingIndex(_Table):
    """Open postings with at least one open position; queried with a seeker."""

    COLUMNS: ClassVar[dict[str, npt.DTypeLike]] = {
        "county": np.uint16,
        "wage_min": np.int32,
        "wage_max": np.int32,
        "shift": np.int8,
        "benefits": np.uint8,
        "key": np.bool_,
        "min_age": np.uint8,
        "max_age": np.uint8,
        "certs": np.uint64,
        "has_vec": np.bool_,
        "gig_km": np.float32,
    }

    def _bucket_of(self, row: int) -> tuple[int, int]:
        return (int(self.cols["county"][row]), 0)

    def _pair(self, query: Row, rows: Row) -> tuple[Row, Row]:
        return query, rows

    def add(self, view: PostingView) -> bool:
        """Index a posting; a closed or full one (or one at an unknown place) is removed instead."""
        return self.add_features(posting_features(view, self.policy))

    def add_features(self, f: PostingFeatures) -> bool:
        if not f.is_open or f.open_positions <= 0 or f.place is None:
            self.remove(f.id)
            return False
        county = counties().index[f.place.adcode]
        row = posting_row(f, self.vocab.cert_mask(sorted(f.certificates), create=True))
        row.update(county=county, min_age=min(f.min_age, 255), max_age=min(f.max_age, 255))
        self._put(f.id, (county, 0), row, f.vector)
        return True

    def bulk_load(self, views: Iterable[PostingView]) -> int:
        n = 0
        for view in views:
            n += self.add(view)
        return n

    def top_postings_for_profile(
        self, profile: ProfileMatchView | ProfileFeatures, k: int = 20, *, exclude: Iterable[str] = ()
    ) -> list[tuple[str, float]]:
        """The k best feasible postings for a seeker, (posting id, score), best first, ties by id."""
        f = profile if isinstance(profile, ProfileFeatures) else profile_features(profile, self.policy)
        if not f.looking or f.place is None:
            return []
        query = profile_row(f, self.vocab.cert_mask(sorted(f.certificates), create=False))
        c = counties()
        home = c.index[f.place.adcode]
        dist_all = distances_from(home)
        dist_all[home] = self.policy.distance.same_county_km
        groups: list[tuple[float, list[tuple[int, int]]]] = []
        for county, keys in self.county_keys.items():
            d = float(dist_all[county])
            if constraints.reach_ok(query, d, bool(c.province[county] == c.province[home])):
                groups.append((d, keys))
        groups.sort()
        p = self.policy
        w = p.weights
        allowed = constraints.ALLOWED[query["availability"]]
        rest = (
            w.normalised("wage") * wage.best(query["desired"], p)
            + w.normalised("skills") * skills.best(bool(f.vector), p)
            + w.normalised("shift")
            * float(shift.table(p)[shift.rows(query["availability"], f.care)][allowed].max(initial=0.0))
            + w.normalised("benefits") * benefits.best(p)
            + w.normalised("priority")
            * float(priority.scores(priority.boost_table(p)[query["groups"]], True, p))
        )

        def bound(d: float) -> float:
            return w.normalised("distance") * distance.score(d, p) + rest

        def score(rows: I64) -> tuple[I64, F64]:
            return self._score_rows(query, f.vector, home, dist_all, rows)

        return self._search(groups, score, bound, k, exclude)


class ProfileIndex(_Table):
    """Seekers who are looking; queried with a posting."""

    COLUMNS: ClassVar[dict[str, npt.DTypeLike]] = {
        "county": np.uint16,
        "birth_year": np.int16,
        "desired": np.int32,
        "commute": np.float64,
        "flags": np.uint8,
        "availability": np.int8,
        "needs": np.uint8,
        "groups": np.uint8,
        "certs": np.uint64,
    }

    @staticmethod
    def _key(county: int, flags: int, commute: float) -> tuple[int, int]:
        if flags & (F_OUT | F_RELOCATE):
            return (county, K_WIDE)  # reachable from anywhere
        if commute > BANDS[-1]:
            return (county, K_LONG)  # checked for every posting
        if flags & F_WHOLE:
            return (county, K_WHOLE)  # the province, and across its border within the commute
        for band, limit in enumerate(BANDS):
            if commute <= limit:
                return (county, band)
        raise AssertionError("unreachable")

    def _bucket_of(self, row: int) -> tuple[int, int]:
        c = self.cols
        return self._key(int(c["county"][row]), int(c["flags"][row]), float(c["commute"][row]))

    def _pair(self, query: Row, rows: Row) -> tuple[Row, Row]:
        return rows, query

    def add(self, view: ProfileMatchView) -> bool:
        """Index a seeker; one who is not looking (or lives at an unknown place) is removed instead."""
        return self.add_features(profile_features(view, self.policy))

    def add_features(self, f: ProfileFeatures) -> bool:
        if not f.looking or f.place is None:
            self.remove(f.id)
            return False
        county = counties().index[f.place.adcode]
        row = profile_row(f, self.vocab.cert_mask(sorted(f.certificates), create=True))
        row["county"] = county
        self._put(f.id, self._key(county, row["flags"], f.max_commute_km), row, f.vector)
        return True

    def bulk_load(self, views: Iterable[ProfileMatchView]) -> int:
        n = 0
        for view in views:
            n += self.add(view)
        return n

    def top_profiles_for_posting(
        self, posting: PostingView | PostingFeatures, k: int = 20, *, exclude: Iterable[str] = ()
    ) -> list[tuple[str, float]]:
        """The k best feasible seekers for a posting, (profile id, score), best first, ties by id."""
        f = posting if isinstance(posting, PostingFeatures) else posting_features(posting, self.policy)
        if not f.is_open or f.open_positions <= 0 or f.place is None:
            return []
        query = posting_row(f, self.vocab.cert_mask(sorted(f.certificates), create=True))
        c = counties()
        site = c.index[f.place.adcode]
        dist_all = distances_from(site)
        dist_all[site] = self.policy.distance.same_county_km
        groups: list[tuple[float, list[tuple[int, int]]]] = []
        for county, keys in self.county_keys.items():
            d = float(dist_all[county])
            same = bool(c.province[county] == c.province[site])
            chosen = [
                key
                for key in keys
                if key[1] in (K_WIDE, K_LONG)
                or (key[1] == K_WHOLE and (same or d <= BANDS[-1]))
                or (key[1] < len(BANDS) and d <= BANDS[key[1]])
            ]
            if chosen:
                groups.append((d, chosen))
        groups.sort()
        p = self.policy
        w = p.weights
        rest = (
            w.normalised("wage") * wage.best(None, p)
            + w.normalised("skills") * skills.best(bool(f.vector), p)
            + w.normalised("shift") * float(shift.table(p)[:, query["shift"]].max())
            + w.normalised("benefits") * benefits.best(p)
            + w.normalised("priority")
            * float(priority.scores(float(priority.boost_table(p).max()), f.key_enterprise, p))
        )

        def bound(d: float) -> float:
            return w.normalised("distance") * distance.score(d, p) + rest

        def score(rows: I64) -> tuple[I64, F64]:
            return self._score_rows(query, f.vector, site, dist_all, rows)

        return self._search(groups, score, bound, k, exclude)


class MatchIndex:
    """Both indexes over one vocabulary: what the engine and the benchmark hold."""

    def __init__(self, policy: Policy, *, year: int | None = None) -> None:
        self.vocab = Vocabulary()
        self.postings = PostingIndex(policy, self.vocab, year=year)
        self.profiles = ProfileIndex(policy, self.vocab, year=year)

    def top_postings_for_profile(
        self, profile: ProfileMatchView | ProfileFeatures, k: int = 20, *, exclude: Iterable[str] = ()
    ) -> list[tuple[str, float]]:
        return self.postings.top_postings_for_profile(profile, k, exclude=exclude)

    def top_profiles_for_posting(
        self, posting: PostingView | PostingFeatures, k: int = 20, *, exclude: Iterable[str] = ()
    ) -> list[tuple[str, float]]:
        return self.profiles.top_profiles_for_posting(posting, k, exclude=exclude)

    def nbytes(self) -> int:
        return self.postings.nbytes() + self.profiles.nbytes()

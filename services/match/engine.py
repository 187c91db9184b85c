"""The matching engine: who is recommended which posting, kept current as views arrive.

Pure and deterministic: no I/O, no clock (the reference year is given), so the service can
rebuild it from the store after a restart (``load``) and tests can replay a campaign.

The assignment it maintains:

- each looking seeker gets up to ``top_k`` postings scoring at least ``threshold``, at most
  ``max_per_employer`` of them from one employer;
- each open posting is recommended to at most ``capacity_multiple x open positions`` seekers,
  best fits first: a better seeker arriving at a full posting bumps the weakest, who is then
  offered their next-best posting. Such chains are bounded by ``max_cascade`` steps per change;
- a change re-scores only what it affects: a seeker against postings (through the index), a
  posting against seekers, and the seekers whose lists change as a consequence;
- a pair the seeker declined (``decline``: 不感兴趣) is never recommended again, whatever later
  changes on either side; the seeker is offered their next-best posting instead.

The state is the internal assignment plus the last emitted ``MatchView`` of every active match;
each ``apply_*`` diffs the two for the seekers it touched and returns the changes. An ``updated``
change is emitted only when rank, reason or the posting card changed, or the score moved by at
least ``update_epsilon``.

Memory: views and pairs are held in the compact forms of ``compact.py`` (packed JSON, pair
bytes) and rebuilt when read. A seeker is one ``bytes`` record: her packed profile, then her
list (posting numbers and pair bytes). Her last emitted matches are, nearly always, what that
list stands for (ranked, with the postings' current cards), so they are kept apart (flat, in
``_odd``) only when they differ: a card or pair changed without a material update, or a loaded
match that does not fit the compact form. Before a change touches a seeker her emitted matches
are snapshotted (``_before``), as ``_diff`` compares against them. Posting ids are interned. The
engine decides on the decoded values, which equal the stored ones, so the compaction changes no
decision.
"""

from __future__ import annotations

import json
import struct
import sys
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from shared import places
from shared.events import MatchView, PostingSummary, PostingView, ProfileMatchView

from .compact import JsonPacker, PairCodec
from .index import MatchIndex
from .scoring import PairScore, score_features
from .scoring.features import PostingFeatures, ProfileFeatures, posting_features, profile_features
from .scoring.policy import Policy

ChangeKind = Literal["created", "updated", "withdrawn"]

REASON_POSTING = {"closed": "岗位已关闭", "deleted": "岗位已撤销"}
REASON_FULL = "岗位已招满"
REASON_PROFILE = {"hired": "求职者已入职", "paused": "求职者暂停求职", "deleted": "求职者已注销"}
REASON_CHANGED = "条件已变化，不再匹配"
REASON_BETTER = "有更合适的岗位"
REASON_BUMPED = "岗位推荐名额已满"
REASON_DECLINED = "求职者不感兴趣"

DIGITS = 6  # scores are rounded here, so a reloaded engine decides exactly as a running one


def posting_summary(view: PostingView) -> PostingSummary:
    """The posting card a match event carries: what a seeker reads, no more."""
    return PostingSummary(
        title=view.title,
        employer=view.employer.name,
        wage_min=view.wage.min,
        wage_max=view.wage.max,
        shift=view.shift,
        benefits=list(view.benefits),
        place=places.label(view.location.adcode),
        address=view.location.address,
        open_positions=max(0, view.headcount - view.filled),
        employer_code=view.employer.credit_code,
    )


@dataclass(frozen=True, slots=True)
class MatchChange:
    kind: ChangeKind
    match: MatchView


def _packer(model: type[BaseModel], example: BaseModel) -> JsonPacker:
    """A packer whose preset dictionary holds the model's field names and enum values."""
    schema = json.dumps(model.model_json_schema(), ensure_ascii=False).encode()
    return JsonPacker(schema + example.model_dump_json().encode())


_PROFILE_JSON = _packer(
    ProfileMatchView,
    ProfileMatchView.model_validate(
        {"id": "", "version": 1, "status": "looking", "birth_year": 1990, "home": {"adcode": "110101"}}
    ),
)
_POSTING_JSON = _packer(
    PostingView,
    PostingView.model_validate(
        {
            "id": "",
            "version": 1,
            "status": "open",
            "employer": {"name": "有限公司"},
            "title": "普工",
            "headcount": 1,
            "wage": {"min": 3000, "max": 4000},
            "shift": "day",
            "location": {"adcode": "110101"},
        }
    ),
)
STRIDE = 4  # an emitted match in a seeker's flat tuple: posting id, rank, pair bytes (or whole view), card
# posting cards kept built: emitted matches share the current card through the posting, not
# through an object per posting (100k of them would cost ~90 bytes per seeker at 1M seekers)
SUMMARIES_CACHED = 4096
_HEAD = struct.Struct("<I")  # a seeker's record starts with the length of her packed profile
_ITEM = struct.Struct("<IH")  # then her list: posting number and pair length, pair bytes, ...


def _skey(score: float, posting_id: str) -> tuple[float, str]:
    """A seeker's order of postings: best first (smaller is better)."""
    return (-score, posting_id)


def _pkey(score: float, profile_id: str) -> tuple[float, str]:
    """A posting's order of seekers: best first (smaller is better)."""
    return (-score, profile_id)


class MatchEngine:
    def __init__(self, policy: Policy, *, year: int | None = None) -> None:
        self.policy = policy
        self.year = year or date.today().year  # fixed once, so the index and score_pair agree on ages
        self.index = MatchIndex(policy, year=self.year)
        self._postings: dict[str, bytes] = {}  # PostingView JSON, packed (_POSTING_JSON)
        self._pfeat: dict[str, PostingFeatures] = {}  # active postings only
        # seeker -> record: ProfileMatchView JSON packed (_PROFILE_JSON), then her list of postings
        # with their pairs (PairCodec bytes), in list order; see _list and _put_list
        self._profiles: dict[str, bytes] = {}
        self._posting_no: dict[str, int] = {}  # posting id -> its number in seekers' records
        self._posting_ids: list[str] = []
        self._pairs = PairCodec()
        # posting -> the seekers holding it, in the order they came (their pairs: _list); a list,
        # not a dict: a seeker is in it exactly when the posting is in her list, so it need not
        # be searched to add one, and it costs a third of a dict's bytes a holder
        self._holders: dict[str, list[str]] = {}
        # The last emitted views of a seeker are those of her list (ranked, current cards) unless
        # she is here: then they are held flat, STRIDE items per match (see _entries)
        self._odd: dict[str, tuple[Any, ...]] = {}
        self._before: dict[str, dict[str, tuple[Any, ...]]] = {}  # emitted before this change
        self._loading = False
        self._weakest: dict[str, str] = {}  # posting -> its weakest holder (cache, dropped on change)
        self._summaries: dict[str, PostingSummary] = {}  # cards of recently read postings
        self._touched: set[str] = set()
        self._reasons: dict[tuple[str, str], str] = {}
        self._queue: deque[tuple[str, str]] = deque()
        self._queued: set[tuple[str, str]] = set()
        self._declined: dict[str, set[str]] = {}  # profile -> postings the seeker declined
        self._declined_by: dict[str, set[str]] = {}  # posting -> seekers who declined it

    # -- public API -------------------------------------------------------------------------------

    def load(
        self,
        postings: Iterable[PostingView],
        profiles: Iterable[ProfileMatchView],
        active: Iterable[MatchView | Mapping[str, Any]],
        declined: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Rebuild after a restart from stored views, the active matches and the declined
        (profile, posting) pairs; emits nothing.

        An active match may be given as its stored document (``MatchView.model_dump``): one that
        fits the compact form is encoded straight from the dict, since validating a million
        ``MatchView``s was most of a restart; any other is validated and loaded as a view."""
        self._loading = True
        try:
            self._load(postings, profiles, active, declined)
        finally:
            self._loading = False
            self._touched.clear()
            self._before.clear()

    def _load(
        self,
        postings: Iterable[PostingView],
        profiles: Iterable[ProfileMatchView],
        active: Iterable[MatchView | Mapping[str, Any]],
        declined: Iterable[tuple[str, str]],
    ) -> None:
        for posting in postings:
            self._store_posting(posting)
        # one string object per looking seeker's id, shared by every structure keyed by it; while
        # loading, being here is what _looking would ask the index's id table, for much less
        canonical: dict[str, str] = {}
        for profile in profiles:
            if self._store_profile(profile):
                canonical[profile.id] = profile.id
            else:
                canonical.pop(profile.id, None)
        for profile_id, posting_id in declined:
            self._remember_decline(canonical.get(profile_id, profile_id), posting_id)
        cards: dict[tuple[str, str], PostingSummary] = {}  # equal cards of one posting, shared
        cached: dict[str, dict[str, Any]] = {}  # posting -> its current card, dumped
        exact: dict[float, bool] = {}  # factor score or weight -> already rounded to 4 digits
        for m in active:
            if not isinstance(m, MatchView):
                if self._load_stored(m, canonical, cards, cached, exact):
                    continue
                m = MatchView.model_validate(m)
            if m.withdrawn_reason or m.posting_id not in self._pfeat or m.profile_id not in canonical:
                continue
            if self.declined(m.profile_id, m.posting_id):
                continue
            sid = canonical.get(m.profile_id, m.profile_id)
            given = PairScore(m.score, list(m.factors), m.reason, m.distance_km or 0.0)
            pair = self._rounded(given)
            before = self._list(sid)
            blob = self._link(sid, m.posting_id, pair)
            # the emitted view holds the very pair when nothing was rounded and its distance was given
            same = pair is given and m.distance_km is not None
            self._put_emitted(sid, self._entry(m, blob if same else None, cards), before)

    def _load_stored(
        self,
        doc: Mapping[str, Any],
        canonical: dict[str, str],
        cards: dict[tuple[str, str], PostingSummary],
        cached: dict[str, dict[str, Any]],
        exact: dict[float, bool],
    ) -> bool:
        """Load a stored active match without validating a ``MatchView``, as ``load`` would load
        the validated view; False (nothing done) when the document does not fit the compact form
        exactly (then the caller validates it)."""
        try:
            profile_id, posting_id, score, rank = (
                doc["profile_id"],
                doc["posting_id"],
                doc["score"],
                doc["rank"],
            )
            factors, reason, card, distance_km = (
                doc["factors"],
                doc["reason"],
                doc["posting"],
                doc["distance_km"],
            )
        except KeyError:
            return False
        if (
            type(profile_id) is not str
            or type(posting_id) is not str
            or type(score) is not float
            or type(rank) is not int
            or type(reason) is not str
            or type(distance_km) is not float
            or type(card) is not dict
            or type(factors) is not list
            or doc.get("withdrawn_reason") is not None
            or doc.get("wider", False) is not False
            or doc.get("match_id") != f"{profile_id}:{posting_id}"
        ):
            return False
        names: list[str] = []
        weights: list[float] = []
        scores: list[float] = []
        details: list[str] = []
        for f in factors:
            if type(f) is not dict or len(f) != 4:
                return False
            try:
                name, value, weight, detail = f["factor"], f["score"], f["weight"], f["detail"]
            except KeyError:
                return False
            if type(name) is not str or type(detail) is not str:
                return False
            # unrounded factors take the validated path, which rounds them as _link does
            if type(value) is not float or type(weight) is not float:
                return False
            if value not in exact:
                exact[value] = value == round(value, 4)
            if weight not in exact:
                exact[weight] = weight == round(weight, 4)
            if not (exact[value] and exact[weight]):
                return False
            names.append(name)
            weights.append(weight)
            scores.append(value)
            details.append(detail)
        if (
            posting_id not in self._pfeat
            or profile_id not in canonical
            or self.declined(profile_id, posting_id)
        ):
            return True
        sid = canonical.get(profile_id, profile_id)
        pid = sys.intern(posting_id)
        blob = self._pairs.encode_fields(
            score, distance_km, tuple(names), tuple(weights), scores, details, reason
        )
        dumped = cached.get(pid)
        if dumped is None:
            dumped = cached[pid] = self._summary(pid).model_dump()
        before = self._list(sid)
        if card == dumped and self._joins_end(sid, pid, rank, score, before):
            # the common case, kept short: the pair joins the end of her list, which stands for
            # her emitted matches (what _hold and _put_emitted would do, without decoding again)
            self._weakest.pop(pid, None)
            record = self._profiles.get(sid, _HEAD.pack(0))
            self._profiles[sid] = record + _ITEM.pack(self._number(pid), len(blob)) + blob
            self._holders.setdefault(pid, []).append(sid)
            return True
        self._hold(sid, pid, blob)
        if card == dumped:
            held = self._summary(pid)
        else:
            summary = PostingSummary.model_validate(card)
            held = cards.setdefault((pid, summary.model_dump_json()), summary)
        self._put_emitted(sid, (pid, rank, blob, held), before)
        return True

    def _joins_end(
        self, profile_id: str, posting_id: str, rank: int, score: float, before: Mapping[str, bytes]
    ) -> bool:
        """Whether a loaded match with the posting's current card leaves the seeker's emitted
        matches those her list stands for: she has none held apart, it is a new posting of her
        list, ranked last there and given that rank."""
        if profile_id in self._odd or posting_id in before or rank != len(before) + 1:
            return False
        key = _skey(score, posting_id)
        return all(_skey(PairCodec.score(b), p) < key for p, b in before.items())

    def apply_posting(self, view: PostingView) -> list[MatchChange]:
        held = self.posting_view(view.id)
        if held is not None and (view.version < held.version or view == held):
            return []
        for profile_id in self._holders.get(view.id, ()):
            self._snapshot(profile_id)  # their emitted views still carry the card before this change
        self._store_posting(view)
        pid = view.id
        feat = self._pfeat.get(pid)
        holders = sorted(self._holders.get(pid, ()))
        if feat is None:
            reason = REASON_POSTING.get(view.status, REASON_FULL)
            for profile_id in holders:
                self._unlink(profile_id, pid, reason)
                self._enqueue("refill", profile_id)
        else:
            for profile_id in holders:
                pair = self._score(self._profile_features(profile_id), feat)
                if pair is None:
                    self._unlink(profile_id, pid, REASON_CHANGED)
                    self._enqueue("refill", profile_id)
                else:
                    self._link(profile_id, pid, pair)
            capacity = self.policy.capacity(feat.open_positions)
            current = self._holders.get(pid, [])
            while len(current) > capacity:
                weakest = max(current, key=lambda p: _pkey(self._held_score(p, pid), p))
                self._unlink(weakest, pid, REASON_BUMPED)
                self._enqueue("refill", weakest)
            self._enqueue("fill", pid, first=True)
        self._run()
        return self._diff()

    def apply_profile(self, view: ProfileMatchView) -> list[MatchChange]:
        held = self.profile_view(view.id)
        if held is not None and (view.version < held.version or view == held):
            return []
        self._store_profile(view)
        sid = view.id
        current = sorted(self._list(sid))
        if view.status != "looking":
            reason = REASON_PROFILE.get(view.status, REASON_PROFILE["paused"])
            for posting_id in current:
                self._unlink(sid, posting_id, reason)
                self._enqueue("fill", posting_id)
        else:
            feat = profile_features(view, self.policy)
            for posting_id in current:
                pair = self._score(feat, self._pfeat[posting_id])
                self._unlink(sid, posting_id, REASON_CHANGED if pair is None else REASON_BETTER)
            self._refill(sid, feat)
            for posting_id in current:
                if posting_id not in self._list(sid):
                    self._enqueue("fill", posting_id)
        self._run()
        return self._diff()

    def decline(self, profile_id: str, posting_id: str) -> list[MatchChange]:
        """The seeker is not interested: withdraw the pair if active, never offer it again, and
        offer the seeker their next-best posting (and the posting its next-best seeker).

        Idempotent: declining a pair already declined changes nothing and returns no changes.
        """
        if self.declined(profile_id, posting_id):
            return []
        self._remember_decline(profile_id, posting_id)
        if posting_id in self._list(profile_id):
            self._unlink(profile_id, posting_id, REASON_DECLINED)
            self._enqueue("refill", profile_id)
            self._enqueue("fill", posting_id)
        self._run()
        return self._diff()

    def declined(self, profile_id: str, posting_id: str) -> bool:
        return posting_id in self._declined.get(profile_id, ())

    def matches_for_profile(self, profile_id: str) -> list[MatchView]:
        return sorted(self._emitted_views(profile_id).values(), key=lambda m: m.rank)

    def matches_for_posting(self, posting_id: str) -> list[MatchView]:
        """The employer's ranked candidate list (best fit first)."""
        held = self._holders.get(posting_id, ())
        views = [v for sid in held if (v := self._emitted_view(sid, posting_id)) is not None]
        return sorted(views, key=lambda m: _pkey(m.score, m.profile_id))

    # -- read access for the layers beside the engine (wider offers, the fallback list) --------------

    def looking(self, profile_id: str) -> bool:
        return self._looking(profile_id)

    def profile_view(self, profile_id: str) -> ProfileMatchView | None:
        packed = self._packed_profile(profile_id)
        return None if packed is None else ProfileMatchView.model_validate_json(_PROFILE_JSON.unpack(packed))

    def posting_view(self, posting_id: str) -> PostingView | None:
        packed = self._postings.get(posting_id)
        return None if packed is None else PostingView.model_validate_json(_POSTING_JSON.unpack(packed))

    def posting_features(self, posting_id: str) -> PostingFeatures | None:
        """The features of an active posting (open, with a position left), else None."""
        return self._pfeat.get(posting_id)

    def active_postings(self) -> Iterable[PostingFeatures]:
        return self._pfeat.values()

    def declined_by(self, profile_id: str) -> frozenset[str]:
        return frozenset(self._declined.get(profile_id, ()))

    def posting_summary(self, posting_id: str) -> PostingSummary:
        return self._summary(posting_id)

    def forget_profile(self, profile_id: str) -> None:
        """Drop what memory still holds of a deleted seeker (her matches are already withdrawn)."""
        self.index.profiles.remove(profile_id)
        for posting_id in self._list(profile_id):  # none: her matches were withdrawn first
            self._holders[posting_id].remove(profile_id)
        self._profiles.pop(profile_id, None)
        self._odd.pop(profile_id, None)
        for posting_id in self._declined.pop(profile_id, set()):
            self._declined_by.get(posting_id, set()).discard(profile_id)

    # -- storage -----------------------------------------------------------------------------------

    def _store_posting(self, view: PostingView) -> None:
        pid = sys.intern(view.id)
        self._number(pid)
        self._postings[pid] = _POSTING_JSON.pack(view.model_dump_json().encode())
        self._summaries.pop(pid, None)
        feat = posting_features(view, self.policy)
        if self.index.postings.add_features(feat):
            self._pfeat[pid] = feat
        else:
            self._pfeat.pop(pid, None)

    def _store_profile(self, view: ProfileMatchView) -> bool:
        """Keep the seeker's profile; whether she is looking (in the index)."""
        packed = _PROFILE_JSON.pack(view.model_dump_json().encode())
        record = self._profiles.get(view.id)
        items = b"" if record is None else record[_HEAD.size + _HEAD.unpack_from(record)[0] :]
        self._profiles[view.id] = _HEAD.pack(len(packed)) + packed + items
        return self.index.profiles.add(view)

    def _packed_profile(self, profile_id: str) -> bytes | None:
        record = self._profiles.get(profile_id)
        if record is None:
            return None
        size = _HEAD.unpack_from(record)[0]
        return record[_HEAD.size : _HEAD.size + size] if size else None

    def _number(self, posting_id: str) -> int:
        no = self._posting_no.get(posting_id)
        if no is None:
            no = self._posting_no[posting_id] = len(self._posting_ids)
            self._posting_ids.append(posting_id)
        return no

    def _list(self, profile_id: str) -> dict[str, bytes]:
        """A seeker's list: posting -> pair (PairCodec bytes), in the order the postings joined it."""
        record = self._profiles.get(profile_id)
        out: dict[str, bytes] = {}
        if record is None:
            return out
        at = _HEAD.size + _HEAD.unpack_from(record)[0]
        ids = self._posting_ids
        end = len(record)
        while at < end:
            no, size = _ITEM.unpack_from(record, at)
            at += _ITEM.size
            out[ids[no]] = record[at : at + size]
            at += size
        return out

    def _put_list(self, profile_id: str, held: Mapping[str, bytes]) -> None:
        record = self._profiles.get(profile_id)
        head = _HEAD.pack(0) if record is None else record[: _HEAD.size + _HEAD.unpack_from(record)[0]]
        if not held and len(head) == _HEAD.size:
            self._profiles.pop(profile_id, None)  # neither a profile nor a list
            return
        parts = [head]
        for posting_id, blob in held.items():
            parts += (_ITEM.pack(self._number(posting_id), len(blob)), blob)
        self._profiles[profile_id] = b"".join(parts)

    def _held_score(self, profile_id: str, posting_id: str) -> float:
        """The score of a pair the seeker holds."""
        record = self._profiles[profile_id]
        no = self._posting_no[posting_id]
        at = _HEAD.size + _HEAD.unpack_from(record)[0]
        while True:
            item, size = _ITEM.unpack_from(record, at)
            at += _ITEM.size
            if item == no:
                return PairCodec.score(record[at : at + size])
            at += size

    def _remember_decline(self, profile_id: str, posting_id: str) -> None:
        posting_id = sys.intern(posting_id)
        self._declined.setdefault(profile_id, set()).add(posting_id)
        self._declined_by.setdefault(posting_id, set()).add(profile_id)

    def _looking(self, profile_id: str) -> bool:
        return profile_id in self.index.profiles

    def _profile_features(self, profile_id: str) -> ProfileFeatures:
        packed = self._packed_profile(profile_id)
        assert packed is not None, profile_id
        view = ProfileMatchView.model_validate_json(_PROFILE_JSON.unpack(packed))
        return profile_features(view, self.policy)

    def _score(self, profile: ProfileFeatures, posting: PostingFeatures) -> PairScore | None:
        pair = score_features(profile, posting, self.policy, year=self.year)
        if pair is None or pair.score < self.policy.threshold:
            return None
        return PairScore(round(pair.score, DIGITS), pair.factors, pair.reason, round(pair.distance_km, 1))

    # -- assignment --------------------------------------------------------------------------------

    @staticmethod
    def _rounded(pair: PairScore) -> PairScore:
        """The pair with its factors rounded to four digits (the very pair when they already are)."""
        if any(f.score != round(f.score, 4) or f.weight != round(f.weight, 4) for f in pair.factors):
            rounded = [
                f.model_copy(update={"score": round(f.score, 4), "weight": round(f.weight, 4)})
                for f in pair.factors
            ]
            return PairScore(pair.score, rounded, pair.reason, pair.distance_km)
        return pair

    def _link(self, profile_id: str, posting_id: str, pair: PairScore) -> bytes:
        pair = self._rounded(pair)
        posting_id = sys.intern(posting_id)
        blob = self._pairs.encode(pair.score, pair.distance_km, pair.factors, pair.reason)
        self._hold(profile_id, posting_id, blob)
        return blob

    def _hold(self, profile_id: str, posting_id: str, blob: bytes) -> None:
        self._weakest.pop(posting_id, None)
        self._snapshot(profile_id)
        held = self._list(profile_id)
        new = posting_id not in held
        held[posting_id] = blob
        self._put_list(profile_id, held)
        if new:
            self._holders.setdefault(posting_id, []).append(profile_id)
        self._reasons.pop((profile_id, posting_id), None)
        self._touched.add(profile_id)

    def _unlink(self, profile_id: str, posting_id: str, reason: str) -> None:
        self._weakest.pop(posting_id, None)
        self._snapshot(profile_id)
        held = self._list(profile_id)
        if held.pop(posting_id, None) is not None:
            self._put_list(profile_id, held)
            self._holders[posting_id].remove(profile_id)
        self._reasons[(profile_id, posting_id)] = reason
        self._touched.add(profile_id)

    def _enqueue(self, kind: str, key: str, *, first: bool = False) -> None:
        task = (kind, key)
        if task in self._queued:
            return
        self._queued.add(task)
        if first:
            self._queue.appendleft(task)
        else:
            self._queue.append(task)

    def _run(self) -> None:
        """Work off refill/fill tasks; after ``max_cascade`` steps the rest waits for the next change."""
        steps = 0
        while self._queue and steps <= self.policy.max_cascade:
            kind, key = self._queue.popleft()
            self._queued.discard((kind, key))
            steps += 1
            if kind == "fill":
                self._fill(key)
            elif self._looking(key):
                self._refill(key, self._profile_features(key))
        self._queue.clear()
        self._queued.clear()

    def _employer_count(self, profile_id: str, employer: str, skip: str | None = None) -> int:
        return sum(1 for p in self._list(profile_id) if p != skip and self._pfeat[p].employer == employer)

    def _weakest_holder(self, posting_id: str, feat: PostingFeatures) -> tuple[str, float] | None:
        """The holder a better seeker would bump, or None while the posting has room."""
        holders = self._holders.get(posting_id, [])
        if len(holders) < self.policy.capacity(feat.open_positions) or not holders:
            return None
        weakest = self._weakest.get(posting_id)
        if weakest is None or weakest not in holders:
            weakest = self._weakest[posting_id] = max(
                holders, key=lambda p: _pkey(self._held_score(p, posting_id), p)
            )
        return weakest, self._held_score(weakest, posting_id)

    def _room(self, posting_id: str, feat: PostingFeatures, profile_id: str, score: float) -> bool:
        """Whether the posting takes this seeker, bumping its weakest holder if it must."""
        found = self._weakest_holder(posting_id, feat)
        if found is None:
            return self.policy.capacity(feat.open_positions) > 0
        weakest, weakest_score = found
        if _pkey(score, profile_id) >= _pkey(weakest_score, weakest):
            return False
        self._unlink(weakest, posting_id, REASON_BUMPED)
        self._enqueue("refill", weakest)
        return True

    def _refill(self, profile_id: str, feat: ProfileFeatures) -> None:
        """Offer a seeker their best postings until their list is full."""
        k = self.policy.top_k
        want = 4 * k + 10
        seen: set[str] = set(self._declined.get(profile_id, ()))
        while len(self._list(profile_id)) < k:
            current = self._list(profile_id)
            cands = self.index.top_postings_for_profile(feat, want, exclude=[*current, *seen])
            for posting_id, approx in cands:
                seen.add(posting_id)
                if approx < self.policy.threshold - 1e-6 or len(self._list(profile_id)) >= k:
                    return
                pfeat = self._pfeat[posting_id]
                if self._employer_count(profile_id, pfeat.employer) >= self.policy.max_per_employer:
                    continue
                found = self._weakest_holder(posting_id, pfeat)
                if found is not None and approx + 1e-6 < found[1]:
                    continue  # the posting is full of clearly better seekers: skip exact scoring
                pair = self._score(feat, pfeat)
                if pair is None or not self._room(posting_id, pfeat, profile_id, pair.score):
                    continue
                self._link(profile_id, posting_id, pair)
            if len(cands) < want or want >= 2000:
                return
            want *= 4

    def _fill(self, posting_id: str) -> None:
        """Offer a posting with room to the best seekers who would take it."""
        feat = self._pfeat.get(posting_id)
        if feat is None:
            return
        capacity = self.policy.capacity(feat.open_positions)
        want = min(4 * capacity + 20, 5000)
        holders = self._holders.setdefault(posting_id, [])
        if len(holders) >= capacity:
            return
        exclude = [*holders, *self._declined_by.get(posting_id, ())]
        for profile_id, approx in self.index.top_profiles_for_posting(feat, want, exclude=exclude):
            if len(holders) >= capacity or approx < self.policy.threshold - 1e-6:
                return
            current = self._list(profile_id)
            replace: str | None = None
            if len(current) >= self.policy.top_k:
                replace = max(current, key=lambda p: _skey(PairCodec.score(current[p]), p))
                if approx + 1e-6 < PairCodec.score(current[replace]):
                    continue  # clearly worse than all they hold: skip the costly exact scoring
            if self._employer_count(profile_id, feat.employer, skip=replace) >= self.policy.max_per_employer:
                continue
            pair = self._score(self._profile_features(profile_id), feat)
            if pair is None:
                continue
            worst = None if replace is None else _skey(PairCodec.score(current[replace]), replace)
            if worst is not None and _skey(pair.score, posting_id) >= worst:
                continue
            if replace is not None:
                self._unlink(profile_id, replace, REASON_BETTER)
                self._enqueue("fill", replace)
            self._link(profile_id, posting_id, pair)

    # -- views and changes -------------------------------------------------------------------------

    def _summary(self, posting_id: str) -> PostingSummary:
        cached = self._summaries.get(posting_id)
        if cached is None:
            if len(self._summaries) >= SUMMARIES_CACHED:
                del self._summaries[next(iter(self._summaries))]  # the oldest
            cached = self._summaries[posting_id] = self._make_summary(posting_id)
        return cached

    def _make_summary(self, posting_id: str) -> PostingSummary:
        view = self.posting_view(posting_id)
        assert view is not None, posting_id
        return posting_summary(view)

    def _view(self, profile_id: str, posting_id: str, pair: bytes, rank: int) -> MatchView:
        return self._restore(profile_id, posting_id, rank, pair, self._summary(posting_id))

    def _restore(
        self,
        profile_id: str,
        posting_id: str,
        rank: int,
        held: bytes | MatchView,
        card: PostingSummary | None,
    ) -> MatchView:
        """An emitted view from its compact entry (one that could not be compacted is held whole)."""
        if isinstance(held, MatchView):
            return held
        assert card is not None, (profile_id, posting_id)
        score, distance_km, factors, reason = self._pairs.decode(held)
        return MatchView(
            match_id=f"{profile_id}:{posting_id}",
            profile_id=profile_id,
            posting_id=posting_id,
            score=score,
            rank=rank,
            factors=factors,
            reason=reason,
            posting=card,
            distance_km=distance_km,
        )

    def _entry(
        self, m: MatchView, blob: bytes | None, cards: dict[tuple[str, str], PostingSummary]
    ) -> tuple[Any, ...]:
        """The compact entry of a loaded view: its pair bytes (``blob`` when the caller knows them
        equal: shared with the assignment) and its card (shared with the posting's current one,
        or with equal loaded ones)."""
        pid = sys.intern(m.posting_id)
        if m.withdrawn_reason is not None or m.wider or m.match_id != f"{m.profile_id}:{m.posting_id}":
            return (pid, m.rank, m, None)
        if blob is None:
            blob = self._pairs.encode(m.score, m.distance_km, m.factors, m.reason)
        card = self._summary(pid)
        if m.posting != card:
            card = cards.setdefault((pid, m.posting.model_dump_json()), m.posting)
        return (pid, m.rank, blob, card)

    def _derived(self, held: Mapping[str, bytes]) -> dict[str, tuple[Any, ...]]:
        """The emitted matches a list stands for: ranked best first, with the current cards."""
        ranked = sorted(held, key=lambda p: _skey(PairCodec.score(held[p]), p))
        return {p: (i + 1, held[p], self._summary(p)) for i, p in enumerate(ranked)}

    def _entries(self, profile_id: str) -> dict[str, tuple[Any, ...]]:
        """A seeker's emitted matches: posting -> (rank, pair bytes or view, card)."""
        before = self._before.get(profile_id)
        if before is not None:
            return dict(before)
        flat = self._odd.get(profile_id)
        if flat is None:
            return self._derived(self._list(profile_id))
        return {flat[i]: flat[i + 1 : i + STRIDE] for i in range(0, len(flat), STRIDE)}

    def _snapshot(self, profile_id: str) -> None:
        """Keep a seeker's emitted matches as they are before her list or a card of it changes
        (``_diff`` compares against them)."""
        if not self._loading and profile_id not in self._before:
            self._before[profile_id] = self._entries(profile_id)

    def _set_emitted(self, profile_id: str, entries: Mapping[str, tuple[Any, ...]]) -> None:
        """Record a seeker's emitted matches: nothing when her list stands for them, else flat."""
        if entries == self._derived(self._list(profile_id)):
            self._odd.pop(profile_id, None)
        else:
            self._odd[profile_id] = tuple(x for p, e in entries.items() for x in (p, *e))

    def _put_emitted(self, profile_id: str, entry: tuple[Any, ...], before: Mapping[str, bytes]) -> None:
        """Add a loaded match to the seeker's emitted ones; ``before`` is her list before it joined."""
        pid, rank, held, card = entry
        if (
            isinstance(held, bytes)
            and card == self._summary(pid)
            and self._joins_end(profile_id, pid, rank, PairCodec.score(held), before)
            and self._list(profile_id).get(pid) == held
        ):
            return
        flat = self._odd.get(profile_id)
        entries = (
            self._derived(before)
            if flat is None
            else {flat[i]: flat[i + 1 : i + STRIDE] for i in range(0, len(flat), STRIDE)}
        )
        entries.pop(pid, None)
        entries[pid] = (rank, held, card)
        self._set_emitted(profile_id, entries)

    def _emitted_views(self, profile_id: str) -> dict[str, MatchView]:
        return {p: self._restore(profile_id, p, *e) for p, e in self._entries(profile_id).items()}

    def _emitted_view(self, profile_id: str, posting_id: str) -> MatchView | None:
        entry = self._entries(profile_id).get(posting_id)
        return None if entry is None else self._restore(profile_id, posting_id, *entry)

    def _material(self, old: MatchView, new: MatchView) -> bool:
        if old.rank != new.rank or old.reason != new.reason:
            return True
        if abs(old.score - new.score) >= self.policy.update_epsilon:
            return True
        card = {"open_positions"}
        return old.posting.model_dump(exclude=card) != new.posting.model_dump(exclude=card)

    def _diff(self) -> list[MatchChange]:
        changes: list[MatchChange] = []
        for sid in sorted(self._touched):
            held = self._list(sid)
            ranked = sorted(held, key=lambda p: _skey(PairCodec.score(held[p]), p))
            new = {p: self._view(sid, p, held[p], i + 1) for i, p in enumerate(ranked)}
            entries = self._entries(sid)
            old = {p: self._restore(sid, p, *e) for p, e in entries.items()}
            kept: list[Any] = []
            for p in sorted(old.keys() - new.keys()):
                reason = self._reasons.get((sid, p), REASON_BETTER)
                gone = old[p].model_copy(update={"withdrawn_reason": reason})
                changes.append(MatchChange("withdrawn", gone))
            for i, p in enumerate(ranked):
                if p not in old:
                    changes.append(MatchChange("created", new[p]))
                    kept += (p, i + 1, held[p], self._summary(p))
                elif self._material(old[p], new[p]):
                    changes.append(MatchChange("updated", new[p]))
                    kept += (p, i + 1, held[p], self._summary(p))
                else:
                    kept += (p, *entries[p])
            self._set_emitted(
                sid, {kept[i]: tuple(kept[i + 1 : i + STRIDE]) for i in range(0, len(kept), STRIDE)}
            )
        self._touched.clear()
        self._before.clear()
        self._reasons.clear()
        return changes

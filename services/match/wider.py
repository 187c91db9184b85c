"""Nobody left behind: wider offers (放宽推荐) and the public-welfare fallback list (公益性岗位托底).

Why a layer beside the engine rather than inside it: the engine's assignment is an economy of
scarce slots (a threshold, a capacity per open position, bumping), and in a campaign about one
seeker in twenty with a feasible job ends up holding none of them, mostly because the postings
they could take are already recommended to three better fits per open position. Letting the
engine relax its own rules would reshuffle everyone's lists; instead this layer watches the
seekers the engine leaves empty and, after ``wider.after_days`` days, offers each the best
postings the hard constraints allow, outside the threshold and the regular capacity (with a
capacity of its own, ``wider.capacity_multiple`` per open position), marked 放宽推荐 in the
explanation and ``wider`` in the event. Hard constraints are never relaxed: every offer comes
from the index's feasible postings and is re-checked with ``score_features``.

A seeker for whom even that finds nothing and who belongs to a group the policy names
(``fallback.groups``: 就业困难人员, 零就业家庭) goes on the officials' fallback list after
``fallback.after_days`` days, with why: the groups, the days waited and which hard constraint
excluded the nearest postings.

No clock inside: each call gets the time (an event's ``occurred_at`` when an event changed the
seeker's state, the sweep's ``now``), so replays and tests decide as the service does; the timer
is the match service's sweep loop (``sweep.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import places
from shared.events import MatchView
from shared.vocabulary import GROUP_LABELS

from .engine import (
    DIGITS,
    REASON_CHANGED,
    REASON_DECLINED,
    REASON_FULL,
    REASON_POSTING,
    REASON_PROFILE,
    MatchChange,
    MatchEngine,
)
from .scoring import PairScore, score_features
from .scoring.constraints import violation
from .scoring.explain import SEP
from .scoring.features import PostingFeatures, ProfileFeatures, profile_features
from .scoring.features import distance as pair_distance
from .scoring.policy import Policy

WIDER_MARK = "放宽推荐"
REASON_REGULAR = "已有符合条件的推荐"
REASON_UNOFFERED = "放宽推荐名额已满"


def due(since: datetime, now: datetime, days: float) -> bool:
    """Whether a seeker waiting since ``since`` has waited ``days`` days at ``now``."""
    return now - since >= timedelta(days=days)


@dataclass(frozen=True, slots=True)
class FallbackEntry:
    """One seeker on the officials' public-welfare list, and why (no name, no phone)."""

    profile_id: str
    home_adcode: str
    place: str
    groups: list[str]  # Chinese labels of the fallback groups the seeker belongs to
    waiting_since: datetime
    days_waiting: int
    excluded_by: dict[str, int]  # hard constraint (Chinese) -> nearest postings it excluded
    declined: int  # recommendations the seeker declined
    reason: str  # one Chinese sentence for the list


class WiderOffers:
    """Who has waited since when without a recommendation, and the wider offers they hold."""

    def __init__(self, engine: MatchEngine) -> None:
        self.engine = engine
        self.policy = engine.policy
        self.waiting: dict[str, datetime] = {}  # looking seekers the engine gives nothing
        self._offers: dict[str, dict[str, MatchView]] = {}  # profile -> posting -> wider offer
        self._holders: dict[str, set[str]] = {}  # posting -> profiles holding a wider offer of it
        # A seeker the last sweep found nothing for is tried again only once a posting or the
        # seeker changed: ``_generation`` counts posting changes, ``_tried`` the one seen.
        self._generation = 0
        self._tried: dict[str, int] = {}
        self.dirty: set[str] = set()  # seekers whose waiting mark changed since ``take_dirty``

    # -- state ---------------------------------------------------------------------------------

    def load(self, waiting: Iterable[tuple[str, datetime]], offers: Iterable[MatchView]) -> None:
        """Rebuild after a restart (after the engine's own ``load``); emits nothing."""
        for profile_id, since in waiting:
            if self.engine.looking(profile_id) and not self.engine.matches_for_profile(profile_id):
                self.waiting[profile_id] = since
        for view in offers:
            if view.profile_id in self.waiting and self.engine.posting_features(view.posting_id):
                self._hold(view)

    def take_dirty(self) -> dict[str, datetime | None]:
        """The waiting marks to persist (None: delete), and forget them."""
        out = {pid: self.waiting.get(pid) for pid in sorted(self.dirty)}
        self.dirty.clear()
        return out

    def matches_for_profile(self, profile_id: str) -> list[MatchView]:
        return sorted(self._offers.get(profile_id, {}).values(), key=lambda m: m.rank)

    def matches_for_posting(self, posting_id: str) -> list[MatchView]:
        views = [self._offers[p][posting_id] for p in self._holders.get(posting_id, ())]
        return sorted(views, key=lambda m: (-m.score, m.profile_id))

    def offered(self) -> int:
        return sum(len(o) for o in self._offers.values())

    # -- after an engine change ------------------------------------------------------------------

    def reconcile(
        self,
        changes: list[MatchChange],
        at: datetime,
        *,
        profiles: Iterable[str] = (),
        postings: Iterable[str] = (),
    ) -> list[MatchChange]:
        """Keep waiting marks and wider offers true to the engine after it applied a change.

        ``profiles`` and ``postings`` are the entities the event was about; the seekers in the
        engine's ``changes`` and the holders of a changed posting's wider offers are looked at too.
        Returns the wider offers' own changes (withdrawn, updated), to publish after the engine's.
        """
        touched = set(profiles) | {c.match.profile_id for c in changes}
        for posting_id in postings:
            self._generation += 1
            touched |= self._holders.get(posting_id, set())
        regular = {(c.match.profile_id, c.match.posting_id) for c in changes if c.kind != "withdrawn"}
        out: list[MatchChange] = []
        for profile_id in sorted(touched):
            self._tried.pop(profile_id, None)
            out += self._reconcile_one(profile_id, at, regular)
        return out

    def _reconcile_one(
        self, profile_id: str, at: datetime, regular: set[tuple[str, str]]
    ) -> list[MatchChange]:
        engine = self.engine
        held = self._offers.get(profile_id, {})
        if not engine.looking(profile_id):
            view = engine.profile_view(profile_id)
            status = view.status if view is not None else "deleted"
            reason = REASON_PROFILE.get(status, REASON_PROFILE["paused"])
            self._stop_waiting(profile_id)
            return [self._withdraw(profile_id, p, reason) for p in sorted(held)]
        if engine.matches_for_profile(profile_id):
            self._stop_waiting(profile_id)
            withdrawn = [self._withdraw(profile_id, p, REASON_REGULAR) for p in sorted(held)]
            # a pair the engine now recommends itself is superseded by the engine's event
            return [c for c in withdrawn if (profile_id, c.match.posting_id) not in regular]
        if profile_id not in self.waiting:
            self.waiting[profile_id] = at
            self.dirty.add(profile_id)
        if not held:
            return []
        feat = self._profile(profile_id)
        declined = engine.declined_by(profile_id)
        out: list[MatchChange] = []
        kept: list[tuple[str, PairScore]] = []
        for posting_id in sorted(held):
            pfeat = engine.posting_features(posting_id)
            pair = None if pfeat is None or feat is None else self._score(feat, pfeat)
            if posting_id in declined:
                out.append(self._withdraw(profile_id, posting_id, REASON_DECLINED))
            elif pfeat is None:
                posting = engine.posting_view(posting_id)
                reason = REASON_POSTING.get(posting.status, REASON_FULL) if posting else REASON_FULL
                out.append(self._withdraw(profile_id, posting_id, reason))
            elif pair is None:
                out.append(self._withdraw(profile_id, posting_id, REASON_CHANGED))
            else:
                kept.append((posting_id, pair))
        return out + self._rank(profile_id, kept, new=set())

    # -- the sweep ---------------------------------------------------------------------------------

    def sweep(self, now: datetime, *, limit: int | None = None) -> list[MatchChange]:
        """Offer every seeker who has waited ``wider.after_days`` the best feasible postings.

        Seekers without an offer first, then the longest waiting; at most ``limit`` searches per
        call, so that one sweep never holds the event loop long (the next sweep goes on). Returns
        the ``created`` (and re-ranked) offers.
        """
        wider = self.policy.wider
        if wider.top_k <= 0:
            return []
        # Those still without any offer first, then the longest waiting: a seeker who holds one
        # and is retried whenever a posting changes never starves one who holds none.
        order = sorted(self.waiting.items(), key=lambda kv: (kv[0] in self._offers, kv[1], kv[0]))
        ready = [
            pid
            for pid, since in order
            if due(since, now, wider.after_days)
            and len(self._offers.get(pid, {})) < wider.top_k
            and self._tried.get(pid) != self._generation
        ]
        budget = len(ready) * wider.top_k if limit is None else limit
        # One offer per seeker per pass, so that where few postings fit many seekers (a 宝妈班
        # for the mothers of one town) each gets one before anyone gets a second.
        chosen: dict[str, list[tuple[str, PairScore]]] = {}
        exhausted: set[str] = set()  # nothing more for them until a posting or they change
        for _ in range(wider.top_k):
            progress = False
            for profile_id in ready:
                if budget <= 0:
                    break
                taken = chosen.get(profile_id, [])
                if (
                    profile_id in exhausted
                    or len(self._offers.get(profile_id, {})) + len(taken) >= wider.top_k
                ):
                    continue
                budget -= 1
                extra = self.choose(profile_id, 1, taken=taken)
                if not extra:
                    exhausted.add(profile_id)
                    self._tried[profile_id] = self._generation
                    continue
                chosen.setdefault(profile_id, []).extend(extra)
                self._reserve(profile_id, extra[0][0])
                progress = True
            if not progress:
                break
        out: list[MatchChange] = []
        for profile_id, pairs in chosen.items():
            self._release(profile_id, pairs)
            held = self._offers.get(profile_id, {})
            kept = [(p, self._pair_of(v)) for p, v in held.items()]
            out += self._rank(profile_id, kept + pairs, new={p for p, _ in pairs})
        return out

    def choose(
        self,
        profile_id: str,
        need: int,
        *,
        taken: Sequence[tuple[str, PairScore]] = (),
    ) -> list[tuple[str, PairScore]]:
        """Up to ``need`` more feasible postings for a seeker's wider offers, best first.

        Skips what the seeker declined, holds or was just given (``taken``), keeps the cap per
        employer, and takes only postings with wider room left; the scores come from
        ``score_features`` itself. Changes nothing.
        """
        engine, wider = self.engine, self.policy.wider
        feat = self._profile(profile_id)
        if feat is None:
            return []
        held = [*self._offers.get(profile_id, {}), *(p for p, _ in taken)]
        employers = Counter(f.employer for p in held if (f := engine.posting_features(p)) is not None)
        exclude = set(held) | engine.declined_by(profile_id)
        chosen: list[tuple[str, PairScore]] = []
        want = 4 * need + 10
        while True:
            cands = engine.index.top_postings_for_profile(feat, want, exclude=sorted(exclude))
            for posting_id, _ in cands:
                exclude.add(posting_id)
                pfeat = engine.posting_features(posting_id)
                if pfeat is None or employers[pfeat.employer] >= self.policy.max_per_employer:
                    continue
                if len(self._holders.get(posting_id, ())) >= wider.capacity(pfeat.open_positions):
                    continue
                pair = self._score(feat, pfeat)
                if pair is None:
                    continue
                chosen.append((posting_id, pair))
                employers[pfeat.employer] += 1
                if len(chosen) >= need:
                    return chosen
            if len(cands) < want or want >= 2000:
                return chosen
            want *= 4

    # -- the fallback list -------------------------------------------------------------------------

    def fallback(self, now: datetime) -> list[FallbackEntry]:
        """The priority-group seekers nothing was offered to for ``fallback.after_days`` days."""
        policy = self.policy.fallback
        groups = {str(g) for g in policy.groups}
        nearby = _Nearby(self.engine.active_postings(), self.policy)
        out: list[FallbackEntry] = []
        for profile_id, since in sorted(self.waiting.items(), key=lambda kv: (kv[1], kv[0])):
            if self._offers.get(profile_id) or not due(since, now, policy.after_days):
                continue
            view = self.engine.profile_view(profile_id)
            if view is None or not groups.intersection(view.groups):
                continue
            feat = self._profile(profile_id)
            excluded: Counter[str] = Counter()
            if feat is not None:
                for pfeat, dist in nearby.nearest(feat, policy.nearest):
                    excluded[self._exclusion(feat, pfeat, dist)] += 1
            labels = [GROUP_LABELS.get(g, g) for g in view.groups if g in groups]
            days = (now - since).days
            declined = len(self.engine.declined_by(profile_id))
            out.append(
                FallbackEntry(
                    profile_id=profile_id,
                    home_adcode=view.home.adcode,
                    place=places.label(view.home.adcode),
                    groups=labels,
                    waiting_since=since,
                    days_waiting=days,
                    excluded_by=dict(excluded.most_common()),
                    declined=declined,
                    reason=_fallback_sentence(labels, days, excluded, declined),
                )
            )
        return out

    def _exclusion(self, feat: ProfileFeatures, pfeat: PostingFeatures, dist: float) -> str:
        reason = violation(feat, pfeat, dist, self.engine.year)
        if reason is not None:
            return reason
        if pfeat.id in self.engine.declined_by(feat.id):
            return "求职者已拒绝"
        return REASON_UNOFFERED

    # -- helpers -----------------------------------------------------------------------------------

    def _profile(self, profile_id: str) -> ProfileFeatures | None:
        view = self.engine.profile_view(profile_id)
        return None if view is None else profile_features(view, self.policy)

    def _score(self, feat: ProfileFeatures, pfeat: PostingFeatures) -> PairScore | None:
        pair = score_features(feat, pfeat, self.policy, year=self.engine.year)
        if pair is None:
            return None
        rounded = [
            f.model_copy(update={"score": round(f.score, 4), "weight": round(f.weight, 4)})
            for f in pair.factors
        ]
        return PairScore(round(pair.score, DIGITS), rounded, pair.reason, round(pair.distance_km, 1))

    @staticmethod
    def _pair_of(view: MatchView) -> PairScore:
        reason = view.reason.removeprefix(WIDER_MARK + SEP)
        return PairScore(view.score, list(view.factors), reason, view.distance_km or 0.0)

    def _rank(
        self, profile_id: str, pairs: list[tuple[str, PairScore]], *, new: set[str]
    ) -> list[MatchChange]:
        """Hold ``pairs`` as the seeker's wider offers, best first; created/updated as they differ."""
        held = self._offers.get(profile_id, {})
        out: list[MatchChange] = []
        ranked = sorted(pairs, key=lambda t: (-t[1].score, t[0]))
        for rank, (posting_id, pair) in enumerate(ranked, start=1):
            view = MatchView(
                match_id=f"{profile_id}:{posting_id}",
                profile_id=profile_id,
                posting_id=posting_id,
                score=pair.score,
                rank=rank,
                factors=pair.factors,
                reason=WIDER_MARK + SEP + pair.reason,
                posting=self.engine.posting_summary(posting_id),
                distance_km=pair.distance_km,
                wider=True,
            )
            old = held.get(posting_id)
            if posting_id in new or old is None:
                out.append(MatchChange("created", view))
            elif self._material(old, view):
                out.append(MatchChange("updated", view))
            else:
                continue
            self._hold(view)
        return out

    def _material(self, old: MatchView, new: MatchView) -> bool:
        if old.rank != new.rank or old.reason != new.reason:
            return True
        return abs(old.score - new.score) >= self.policy.update_epsilon

    def _hold(self, view: MatchView) -> None:
        self._offers.setdefault(view.profile_id, {})[view.posting_id] = view
        self._holders.setdefault(view.posting_id, set()).add(view.profile_id)

    def _withdraw(self, profile_id: str, posting_id: str, reason: str) -> MatchChange:
        held = self._offers.get(profile_id, {})
        view = held.pop(posting_id)
        if not held:
            self._offers.pop(profile_id, None)
        holders = self._holders.get(posting_id, set())
        holders.discard(profile_id)
        if not holders:
            self._holders.pop(posting_id, None)
        return MatchChange("withdrawn", view.model_copy(update={"withdrawn_reason": reason}))

    def _reserve(self, profile_id: str, posting_id: str) -> None:
        """Count a chosen offer against the posting's wider room before it is held."""
        self._holders.setdefault(posting_id, set()).add(profile_id)

    def _release(self, profile_id: str, pairs: list[tuple[str, PairScore]]) -> None:
        for posting_id, _ in pairs:
            self._holders.get(posting_id, set()).discard(profile_id)

    def _stop_waiting(self, profile_id: str) -> None:
        if self.waiting.pop(profile_id, None) is not None:
            self.dirty.add(profile_id)
        self._tried.pop(profile_id, None)


class _Nearby:
    """The active postings by county, to find a seeker's nearest ones without scanning them all."""

    def __init__(self, postings: Iterable[PostingFeatures], policy: Policy) -> None:
        self.policy = policy
        self.by_county: dict[str, list[PostingFeatures]] = {}
        for p in postings:
            if p.place is not None:
                self.by_county.setdefault(p.place.adcode, []).append(p)
        for group in self.by_county.values():
            group.sort(key=lambda p: p.id)

    def nearest(self, feat: ProfileFeatures, n: int) -> list[tuple[PostingFeatures, float]]:
        found = (
            (dist, adcode)
            for adcode, group in self.by_county.items()
            if (dist := pair_distance(feat, group[0], self.policy)) is not None
        )
        counties = sorted(found)
        out: list[tuple[PostingFeatures, float]] = []
        for dist, adcode in counties:
            for p in self.by_county[adcode]:
                out.append((p, dist))
                if len(out) >= n:
                    return out
        return out


def _fallback_sentence(labels: list[str], days: int, excluded: Counter[str], declined: int) -> str:
    parts = ["、".join(labels), f"已{days}天无任何推荐"]
    if excluded:
        why = "，".join(f"{reason}{count}个" for reason, count in excluded.most_common())
        parts.append(f"最近的{sum(excluded.values())}个岗位：{why}")
    else:
        parts.append("附近暂无在招岗位")
    if declined:
        parts.append(f"已拒绝{declined}个推荐")
    return SEP.join(parts)

"""The real matcher as a simulation participant: ``MatchEngine`` fed the same events as in service.

Hires reach it the way they would in production: the seeker's profile comes back with status
``hired`` and a new version, the posting with its new ``filled`` count (``closed`` when full).

With wider offers on (``policy.wider.top_k`` > 0), ``WiderOffers`` watches the engine as the
consumer makes it do in service, and days pass: everyone registers on day 0, and round r is
shown on day (r + 1) × ``wider.after_days``, after the sweep. What the engine alone showed in
round 1 (day 0) stays in ``before_wider``, so the eval reports coverage before and after.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evaluation.generator import CAMPAIGN_YEAR, Campaign
from services.match.scoring import load_policy
from shared.events import PostingView, ProfileMatchView

Recs = dict[int, list[int]]
DAY0 = datetime(CAMPAIGN_YEAR, 2, 8, tzinfo=UTC)  # the seeds' fairs: 8 February 2022


class EngineMatcher:
    name = "chunfeng matcher"

    def __init__(self, campaign: Campaign, policy_path: str | Path | None = None) -> None:
        from services.match.engine import MatchEngine  # landed separately; import only when used
        from services.match.wider import WiderOffers

        self.policy = load_policy(policy_path)
        self.engine = MatchEngine(self.policy, year=CAMPAIGN_YEAR)
        self.profiles: list[ProfileMatchView] = list(campaign.profiles)
        self.postings: list[PostingView] = list(campaign.postings)
        self.posting_index = {v.id: j for j, v in enumerate(self.postings)}
        self.wider = WiderOffers(self.engine) if self.policy.wider.top_k > 0 else None
        self.now = DAY0
        self.round = 0
        self.before_wider: Recs | None = None
        # As in service: postings are filed first, then seekers register, one event at a time.
        for posting in self.postings:
            self._observe(self.engine.apply_posting(posting), postings=[posting.id])
        for profile in self.profiles:
            self._observe(self.engine.apply_profile(profile), profiles=[profile.id])

    def _observe(self, changes: list[Any], **touched: list[str]) -> None:
        if self.wider is not None:
            self.wider.reconcile(changes, self.now, **touched)

    def _lists(self, active: Sequence[int]) -> Recs:
        out: Recs = {}
        for i in active:
            pid = self.profiles[i].id
            matches = self.engine.matches_for_profile(pid)
            if self.wider is not None:
                matches += self.wider.matches_for_profile(pid)
            out[i] = [self.posting_index[m.posting_id] for m in matches]
        return out

    def recommend(self, active: Sequence[int], open_left: NDArray[np.int64]) -> Recs:
        if self.round == 0:
            self.before_wider = self._lists(active)
        self.round += 1
        if self.wider is not None:
            self.now = DAY0 + timedelta(days=self.round * self.policy.wider.after_days)
            self.wider.sweep(self.now)
        return self._lists(active)

    def fallback(self) -> list[Any]:
        """The public-welfare list as officials would see it once its wait has passed."""
        if self.wider is None:
            return []
        return self.wider.fallback(max(self.now, DAY0 + timedelta(days=self.policy.fallback.after_days)))

    def hired(self, pairs: Sequence[tuple[int, int]], open_left: NDArray[np.int64]) -> None:
        touched: set[int] = set()
        for i, j in pairs:
            v = self.profiles[i]
            self.profiles[i] = v.model_copy(update={"status": "hired", "version": v.version + 1})
            self._observe(self.engine.apply_profile(self.profiles[i]), profiles=[v.id])
            touched.add(j)
        for j in sorted(touched):
            q = self.postings[j]
            filled = q.headcount - int(open_left[j])
            status = "closed" if filled >= q.headcount else "open"
            self.postings[j] = q.model_copy(
                update={"filled": filled, "status": status, "version": q.version + 1}
            )
            self._observe(self.engine.apply_posting(self.postings[j]), postings=[q.id])

    def declined(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Seekers answered "not interested": in service, notify's ``feedback.replied`` events."""
        for i, j in pairs:
            pid = self.profiles[i].id
            self._observe(self.engine.decline(pid, self.postings[j].id), profiles=[pid])


class PairwiseMatcher:
    """``score_pair`` over every pair with the policy's threshold, top_k, employer cap and capacity.

    The engine's allocation re-implemented naively (best pairs first, globally), for when the
    engine is not available; the eval says which one ran.
    """

    name = "chunfeng score_pair"

    def __init__(
        self, campaign: Campaign, policy_path: str | Path | None = None, *, year: int = 2022
    ) -> None:
        from services.match.scoring import score_features
        from services.match.scoring.features import employer_key, posting_features, profile_features

        self.policy = load_policy(policy_path)
        self.year = year
        self.c = campaign
        self._score = score_features
        self._posting_features = posting_features
        self.employers = [employer_key(v.employer) for v in campaign.postings]
        self.pf = [profile_features(v, self.policy) for v in campaign.profiles]
        self.postings = list(campaign.postings)
        self.declines: set[tuple[int, int]] = set()

    def recommend(self, active: Sequence[int], open_left: NDArray[np.int64]) -> Recs:
        qf = [
            self._posting_features(
                v.model_copy(update={"filled": v.headcount - int(open_left[j])}), self.policy
            )
            for j, v in enumerate(self.postings)
        ]
        pairs: list[tuple[float, int, int]] = []
        for i in active:
            for j in range(len(qf)):
                if open_left[j] <= 0 or (i, j) in self.declines:
                    continue
                s = self._score(self.pf[i], qf[j], self.policy, year=self.year)
                if s is not None and s.score >= self.policy.threshold:
                    pairs.append((s.score, i, j))
        pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
        out: Recs = {i: [] for i in active}
        per_employer: dict[tuple[int, str], int] = {}
        load = np.zeros(len(qf), dtype=np.int64)
        for _, i, j in pairs:
            mine = out[i]
            key = (i, self.employers[j])
            if len(mine) >= self.policy.top_k or per_employer.get(key, 0) >= self.policy.max_per_employer:
                continue
            if load[j] >= self.policy.capacity(int(open_left[j])):
                continue
            mine.append(j)
            per_employer[key] = per_employer.get(key, 0) + 1
            load[j] += 1
        return out

    def hired(self, pairs: Sequence[tuple[int, int]], open_left: NDArray[np.int64]) -> None:
        """Reads the open positions again on the next call."""

    def declined(self, pairs: Sequence[tuple[int, int]]) -> None:
        self.declines.update(pairs)

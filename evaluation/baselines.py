"""Simple recommenders the matcher must beat. They see what the matcher sees, never the preferences.

Each returns, for every active seeker, posting indices in the order shown, at most ``top_k``:

- ``random``: a uniformly random sample of the postings that pass the hard constraints;
- ``nearest``: the closest postings passing the hard constraints (ties broken at random);
- ``keyword``: most shared skill tokens between the seeker's skills, experience and intention and
  the posting's title, skills and description, among open postings, with no other filter — what
  a plain job-board search gives; its hard-constraint violations are reported as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from evaluation.constraints import feasible
from evaluation.generator import Campaign
from evaluation.preferences import county_distances
from services.match.scoring.text import tokens

Recs = dict[int, list[int]]


class RandomFeasible:
    name = "random feasible"

    def __init__(self, campaign: Campaign, *, top_k: int, year: int, seed: int) -> None:
        self.c, self.top_k, self.year = campaign, top_k, year
        self.rng = np.random.default_rng([seed, 1])

    def recommend(self, active: Sequence[int], open_left: NDArray[np.int64]) -> Recs:
        out: Recs = {}
        for i in active:
            ok = np.flatnonzero(
                feasible(self.c.profile_arrays, i, self.c.posting_arrays, open_left, self.year)
            )
            out[i] = [int(j) for j in self.rng.permutation(ok)[: self.top_k]]
        return out

    def hired(self, pairs: Sequence[tuple[int, int]], open_left: NDArray[np.int64]) -> None:
        """Stateless: it reads the open positions on every call."""


class NearestFeasible(RandomFeasible):
    name = "nearest feasible"

    def recommend(self, active: Sequence[int], open_left: NDArray[np.int64]) -> Recs:
        p, q = self.c.profile_arrays, self.c.posting_arrays
        out: Recs = {}
        for i in active:
            ok = np.flatnonzero(feasible(p, i, q, open_left, self.year))
            km = county_distances()[int(p.county[i])][q.county[ok]]
            order = np.lexsort((self.rng.random(len(ok)), km))
            out[i] = [int(ok[j]) for j in order[: self.top_k]]
        return out


class KeywordOnly(RandomFeasible):
    name = "keyword only"

    def __init__(self, campaign: Campaign, *, top_k: int, year: int, seed: int) -> None:
        super().__init__(campaign, top_k=top_k, year=year, seed=seed)
        self.seeker_tokens = [
            set(tokens(" ".join([*v.skills, v.experience, v.intention]))) for v in campaign.profiles
        ]
        self.posting_tokens = [
            set(tokens(" ".join([v.title, *(v.skills), v.description]))) for v in campaign.postings
        ]

    def recommend(self, active: Sequence[int], open_left: NDArray[np.int64]) -> Recs:
        out: Recs = {}
        for i in active:
            mine = self.seeker_tokens[i]
            overlap = np.array([len(mine & t) for t in self.posting_tokens], dtype=np.float64)
            order = np.lexsort((self.rng.random(len(overlap)), -overlap))
            out[i] = [int(j) for j in order if overlap[j] > 0 and open_left[j] > 0][: self.top_k]
        return out

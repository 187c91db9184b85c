"""Quality measures of a set of recommendations, as pure functions with hand-checkable results."""

from __future__ import annotations

import math
from collections.abc import Sequence


def dcg(gains: Sequence[float], k: int) -> float:
    """Discounted cumulative gain with linear gains: sum of g_r / log2(r + 1), r = 1..k."""
    return sum(g / math.log2(r + 2) for r, g in enumerate(gains[:k]))


def ndcg_at_k(ranked_gains: Sequence[float], all_gains: Sequence[float], k: int = 5) -> float | None:
    """nDCG@k of a ranking, against the best ranking of every candidate; None if nothing has gain.

    ``ranked_gains`` are the gains of the recommended items in the order shown; ``all_gains``
    those of every item the seeker could have been shown (including the recommended ones).
    """
    ideal = dcg(sorted((g for g in all_gains if g > 0), reverse=True), k)
    if ideal <= 0:
        return None
    return dcg(ranked_gains, k) / ideal


def gini(values: Sequence[float]) -> float:
    """Gini coefficient (0: every posting gets as many recommendations, →1: one gets all)."""
    xs = sorted(float(v) for v in values)
    n = len(xs)
    total = sum(xs)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return (2 * weighted) / (n * total) - (n + 1) / n


def max_congestion(recommended: Sequence[int], open_positions: Sequence[int]) -> float:
    """The largest ratio of recommendations to open positions over postings that have any open."""
    ratios = [r / o for r, o in zip(recommended, open_positions, strict=True) if o > 0]
    return max(ratios, default=0.0)

import math

import pytest

from evaluation.metrics import dcg, gini, max_congestion, ndcg_at_k


def test_dcg_by_hand() -> None:
    assert dcg([3.0, 2.0, 1.0], 5) == pytest.approx(3 + 2 / math.log2(3) + 1 / 2)


def test_ndcg_perfect_reversed_and_empty() -> None:
    assert ndcg_at_k([3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 0.0], 5) == pytest.approx(1.0)
    worse = ndcg_at_k([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 5)
    assert worse == pytest.approx((1 + 2 / math.log2(3) + 3 / 2) / (3 + 2 / math.log2(3) + 1 / 2))
    assert ndcg_at_k([], [1.0], 5) == 0.0
    assert ndcg_at_k([0.0], [0.0, 0.0], 5) is None


def test_ndcg_only_counts_top_k() -> None:
    assert ndcg_at_k([0.0, 5.0], [5.0], 1) == 0.0


def test_gini_by_hand() -> None:
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)  # (n-1)/n when one gets everything
    assert gini([1, 3]) == pytest.approx(0.25)
    assert gini([]) == 0.0


def test_congestion_ignores_full_postings() -> None:
    assert max_congestion([6, 2, 9], [2, 4, 0]) == pytest.approx(3.0)
    assert max_congestion([], []) == 0.0

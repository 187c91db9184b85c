"""``make eval``: the matcher against three baselines on a seeded simulated campaign.

Writes the table to stdout, to ``docs/quality.md`` (section "Latest eval") and to
``eval-results.json`` at the repository root.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import Counter
from pathlib import Path

from evaluation.baselines import KeywordOnly, NearestFeasible, RandomFeasible
from evaluation.generator import CAMPAIGN_YEAR, generate_campaign
from evaluation.report import markdown_table, replace_section
from evaluation.simulation import Recommender, Result, World, as_dict, simulate
from services.match.settings import MatchSettings

ROOT = Path(__file__).resolve().parents[1]


def fallback_summary(matcher: object) -> dict[str, object]:
    """The public-welfare list (公益性岗位托底) at the campaign's end: its size, groups and why."""
    listed = matcher.fallback() if hasattr(matcher, "fallback") else []
    groups: Counter[str] = Counter()
    excluded: Counter[str] = Counter()
    for entry in listed:
        groups.update(entry.groups)
        excluded.update(entry.excluded_by)
    return {
        "size": len(listed),
        "by_group": dict(groups.most_common()),
        "nearest_postings_excluded_by": dict(excluded.most_common()),
        "examples": [entry.reason for entry in listed[:3]],
    }


def fallback_text(summary: dict[str, object]) -> str:
    by_group = summary["by_group"]
    excluded = summary["nearest_postings_excluded_by"]
    assert isinstance(by_group, dict) and isinstance(excluded, dict)
    groups = ", ".join(f"{k} {v}" for k, v in by_group.items()) or "none"
    why = ", ".join(f"{k} {v}" for k, v in excluded.items()) or "–"
    lines = [
        f"Public-welfare fallback list (公益性岗位托底) at the end: {summary['size']} seekers "
        f"(by group: {groups}); what excluded their nearest postings: {why}.",
    ]
    examples = summary["examples"]
    assert isinstance(examples, list)
    lines += [f"- e.g. {e}" for e in examples]
    return "\n".join(lines)


def run(n_profiles: int, n_postings: int, seed: int, rounds: int) -> tuple[list[Result], dict[str, object]]:
    from evaluation.matcher import EngineMatcher, PairwiseMatcher

    started = time.perf_counter()
    campaign = generate_campaign(n_profiles, n_postings, seed)
    world = World.build(campaign, seed)
    # The policy file the service would read (MATCH_POLICY_PATH), so a tuned policy can be evaluated.
    policy_path = MatchSettings().policy_path
    try:
        matcher: EngineMatcher | PairwiseMatcher = EngineMatcher(campaign, policy_path)
    except ImportError:  # the engine module has not landed: score_pair with the same policy
        matcher = PairwiseMatcher(campaign, policy_path)
    top_k = matcher.policy.top_k
    recommenders: list[Recommender] = [
        matcher,
        RandomFeasible(campaign, top_k=top_k, year=CAMPAIGN_YEAR, seed=seed),
        NearestFeasible(campaign, top_k=top_k, year=CAMPAIGN_YEAR, seed=seed),
        KeywordOnly(campaign, top_k=top_k, year=CAMPAIGN_YEAR, seed=seed),
    ]
    results = []
    for rec in recommenders:
        t = time.perf_counter()
        results.append(simulate(world, rec, rounds=rounds, seed=seed))
        print(f"  {rec.name}: {time.perf_counter() - t:.1f} s")
    open_positions = int((campaign.posting_arrays.headcount - campaign.posting_arrays.filled).sum())
    fallback = fallback_summary(matcher)
    meta: dict[str, object] = {
        "seekers": n_profiles,
        "postings": n_postings,
        "open_positions": open_positions,
        "seed": seed,
        "rounds": rounds,
        "top_k": top_k,
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - started, 1),
        "wider_offers": matcher.policy.wider.model_dump(),
        "fallback": fallback,
    }
    return results, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seekers", type=int, default=5000)
    parser.add_argument("--postings", type=int, default=400)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    results, meta = run(args.seekers, args.postings, args.seed, args.rounds)
    table = markdown_table(results)
    setup = (
        f"{meta['seekers']:,} seekers, {meta['postings']:,} postings "
        f"({meta['open_positions']:,} open positions), "
        f"seed {meta['seed']}, {meta['rounds']} rounds, top {meta['top_k']} per seeker; "
        f"run in {meta['seconds']} s (`python -m evaluation`)."
    )
    wider = meta["wider_offers"]
    assert isinstance(wider, dict) and isinstance(meta["fallback"], dict)
    setup += (
        f" Wider offers (放宽推荐) after {wider['after_days']:g} days, at most {wider['top_k']} per seeker;"
        " round r is shown on day r × that wait."
    )
    table += "\n\n" + fallback_text(meta["fallback"])
    print(setup)
    print(table)
    for r in results:
        print(f"  {r.name}: violations by reason {r.violations_by_reason}, hires by round {r.hires_by_round}")
    if args.no_write:
        return
    (ROOT / "eval-results.json").write_text(
        json.dumps({"setup": meta, "results": [as_dict(r) for r in results]}, ensure_ascii=False, indent=2)
        + "\n",
        encoding="utf-8",
    )
    replace_section(ROOT / "docs" / "quality.md", "Latest eval", setup + "\n\n" + table)


if __name__ == "__main__":
    main()

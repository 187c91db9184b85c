"""``bench.where``: whose CPU and whose store commands a pipeline run spent, per profile."""

from __future__ import annotations

from bench.where import Snapshot, process_kind, store_counts

METRICS = """# HELP chunfeng_store_commands_total Commands
# TYPE chunfeng_store_commands_total counter
chunfeng_store_commands_total{command="find",collection="profiles"} 10.0
chunfeng_store_commands_total{command="insert",collection="audit"} 4.0
# HELP chunfeng_store_documents_written_total Documents
# TYPE chunfeng_store_documents_written_total counter
chunfeng_store_documents_written_total{command="insert",collection="audit"} 4.0
"""


def test_stack_processes_are_told_apart_by_their_command_line() -> None:
    assert process_kind("/root/.cache/chunfeng/bin/ferretdb-v1.24.2 --handler=postgresql") == "ferretdb"
    assert process_kind("postgres: ferretdb ferretdb 127.0.0.1(51388) idle") == "postgres"
    assert process_kind("java -Xmx512m kafka.Kafka /tmp/server.properties") == "kafka"
    assert process_kind("/work/.venv/bin/python -m services.notify") == "notify"
    assert process_kind("/work/.venv/bin/python -m bench pipeline") == "load generator"
    assert process_kind("bash") is None


def test_store_counts_are_read_from_metrics_text() -> None:
    counts = store_counts(METRICS)
    assert counts[("commands", "find", "profiles")] == 10
    assert counts[("documents", "insert", "audit")] == 4


def test_a_runs_share_is_the_difference_per_profile() -> None:
    before, after = Snapshot.__new__(Snapshot), Snapshot.__new__(Snapshot)
    before.cpu, after.cpu = {"ferretdb": 1.0, "match": 2.0}, {"ferretdb": 3.0, "match": 2.5}
    before.store = {"ingest": store_counts(METRICS)}
    after.store = {"ingest": {k: v * 3 for k, v in store_counts(METRICS).items()}}
    share = after.since(before, profiles=10)
    assert share["cpu_ms_per_profile"] == {"ferretdb": 200.0, "match": 50.0}
    assert share["store_commands_per_profile"] == {"ingest": 2.8}  # (20 + 8) / 10
    assert share["store_documents_per_profile"] == {"ingest": 0.8}
    assert share["ferretdb_cpu_ms_per_command"] == round(200 / 2.8, 3)
    assert list(share["top_commands_per_profile"]) == ["ingest find profiles", "ingest insert audit"]


def test_a_seeker_whose_every_match_was_withdrawn_is_not_lost_and_the_sample_times_latency() -> None:
    import json

    from bench.pipeline import Run, Tracked, note_match, summarise

    def event(kind: str, posting: str) -> bytes:
        return json.dumps({"type": kind, "payload": {"posting_id": posting}}).encode()

    run = Run(first_sent=0.0, last_accepted=1.0)
    run.profiles = {
        "read": Tracked(sent_at=0.0, timed=True, matched_at=0.5, readable_at=2.0),
        "untimed": Tracked(sent_at=0.1, timed=False, matched_at=0.6, present=True),
        "gone": Tracked(sent_at=0.2, timed=True, matched_at=0.7),
        "lost": Tracked(sent_at=0.3, timed=False, matched_at=0.8),
        "never": Tracked(sent_at=0.4, timed=True),
    }
    for name in ("gone", "lost"):
        note_match(run.profiles[name], event("match.created", "j1"))
    note_match(run.profiles["gone"], event("match.withdrawn", "j1"))  # a better seeker took the place
    result = summarise(run)
    counts = ("timed", "readable", "withdrawn", "unmatched", "lost")
    assert tuple(result[k] for k in counts) == (3, 2, 1, 1, 1)
    assert result["p50_ms"] == 2000.0  # the sample's latency only: the untimed one has none
    assert result["e2e_per_s"] == 1.0  # two delivered by the last timed item, 2 s after the first POST

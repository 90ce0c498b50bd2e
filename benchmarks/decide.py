"""Decision latency, recording latency and ladder recompute at scale, for trustladder's supervisor.

What is measured (all in one process and one run, each against a baseline measured alongside):

1. ``decide()`` latency, parse excluded. A mix of proposals (SQL of every category in several
   dialects, pipeline actions with params; several agents, teams, targets and confidences, some
   with a cost estimate) is assessed once, then decided under three ladders: the repository's
   ``trust_ladder.yaml``; a governed copy that adds ownership, compliance tags, a freeze window in
   force, deny rules and a lower cost ceiling; and that copy in observe mode. Every proposal is
   decided under every ladder at every level 1-4, in shuffled rounds, one timed call each. The run
   stops if the mix no longer reaches every decision and every policy reason. Baseline,
   interleaved call by call: ``Proposal.model_validate`` of the same proposal's JSON dict, the
   least any API pays to accept a proposal at all. Target: p99 <= 1 ms.
2. ``Supervisor.propose`` recorded on a ledger file in a temporary directory: classification,
   decision and one short transaction (attach the file, insert the proposal, its decision, audit
   entries and any approval request, commit, detach). The same proposals are assessed on their own
   to show the classification share. Baseline, interleaved: ``duckdb.connect(file)``, one INSERT
   of the proposal's JSON, ``close()``, on another file in the same directory: the plain way to
   record a row in a file that other processes must open too. Target: p50 <= 20 ms.
   Where the time goes: an empty ledger transaction, and propose inside ``Supervisor.held()`` (the
   file kept attached: the statements alone), timed on their own after that loop.
   The same proposals are then recorded again on that ledger after ``--history`` earlier
   proposals were bulk-loaded into it (their proposals, decisions, approval requests and two audit
   entries each, with short JSON bodies: propose never reads them), to show that recording does
   not slow down as the ledger grows.
3. Ladder recompute. ``--outcomes`` rows are bulk-loaded into the ledger's ``outcomes`` table
   with one ``INSERT ... SELECT ... FROM range()``, in seq order as the ledger writes them, about
   1% superseded by a later incident, over the configured types and one unconfigured one, with
   level changes (promotions at 40% and 70% of the time span where the ceiling allows, a demotion
   at 90%) and a few proposals per type. Rows loaded behind the ledger's back leave its summary
   (``outcome_counts``, ``action_types``, which every write through the ledger keeps up to date)
   behind, so the load ends with ``ledger.rebuild_summary``, the maintenance call for bulk
   imports; the load time printed includes it. Then ``Supervisor.ladder_status`` is timed: one
   warm-up, then ``--repeat`` runs. Baseline, interleaved: ``SELECT action_type, count(*) FROM outcomes
   WHERE NOT superseded GROUP BY 1`` in a ledger transaction, the floor for any recompute that
   reads every outcome. Target: median <= 100 ms.

Timed calls run after a full collection with the collector off. The machine may be running other
work; the load average is printed with the results. Run from anywhere:

    python benchmarks/decide.py [--outcomes N] [--proposals N] [--rounds N] [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import yaml
from tables import print_summary, render  # benchmarks/tables.py, beside this script

from classifiers.assessment import assess
from supervisor import ledger
from supervisor.models import Assessment, Decision, Proposal
from supervisor.policy import decide
from supervisor.service import Supervisor
from supervisor.trust_ladder import Ladder, load_ladder, parse_ladder

REPO_ROOT = Path(__file__).resolve().parent.parent
LADDER_FILE = REPO_ROOT / "trust_ladder.yaml"
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
DECIDE_P99_US = 1000.0
PROPOSE_P50_MS = 20.0
RECOMPUTE_MS = 100.0
# Reasons decide() itself gives; the classifier's notes (schema_change, stop, ...) come on top.
POLICY_REASONS = frozenset(
    {"deny_rule", "read", "destructive", "unknown", "non_negotiable", "low_confidence", "cross_team", "compliance", "cost", "freeze", "level", "observe_mode"}
)
GOVERNANCE: dict[str, Any] = {
    "ownership": {"shop.*": "commerce", "finance.*": "finance", "crm.*": "growth", "daily_etl": "data-eng"},
    "compliance": {"crm.customers": ["pii"], "finance.*": ["sox"]},
    "freezes": [
        {"start": "2026-03-28T00:00:00Z", "end": "2026-04-03T00:00:00Z", "action_types": ["sql.write", "pipeline.trigger_backfill"], "reason": "quarter close"}
    ],
    "deny": [
        {"action_types": ["sql.drop", "sql.truncate"], "objects": ["finance.*"], "message": "finance tables are never dropped or truncated by agents"},
        {"agents": ["sandbox-*"], "message": "sandbox agents only propose reads"},
    ],
    "escalations": {"cost_ceiling_usd": 5000},
}


def _sql(text: str, dialect: str = "duckdb", **fields: Any) -> dict[str, Any]:
    return {"sql": text, "dialect": dialect, "agent": "fixer-1", "team": "commerce", "confidence": 0.9, **fields}


def _action(name: str, params: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"action": name, "params": params, "agent": "ops-bot", "team": "data-eng", "confidence": 0.85, **fields}


# Proposals as an API receives them: JSON objects, pipeline params as the CLI sends them (strings).
MIX: tuple[dict[str, Any], ...] = (
    _sql("UPDATE shop.orders SET status = 'retry' WHERE id = 42", target="shop.orders", reason="stuck order"),
    _sql("INSERT INTO finance.adjustments SELECT * FROM staging.adjustments WHERE batch = 7", "snowflake", team="finance", confidence=0.95),
    _sql("UPDATE crm.customers SET email = lower(email) WHERE id IN (SELECT id FROM staging.bad_emails)", "postgres", team="growth"),
    _sql("DELETE FROM crm.customers", "postgres", agent="fixer-2", team="growth", rollback="restore from snapshot"),
    _sql("DROP TABLE finance.quarterly_close", "snowflake", team="finance"),
    _sql("DROP TABLE scratch.tmp_orders", agent="fixer-2"),
    _sql("TRUNCATE TABLE staging.events_raw", "snowflake", team="data-eng"),
    _sql("INSERT OVERWRITE TABLE analytics.daily SELECT * FROM staging.daily", "spark", team="analytics"),
    _sql("ALTER TABLE shop.orders ADD COLUMN note VARCHAR", target="shop.orders"),
    _sql("GRANT SELECT ON shop.orders TO PUBLIC", "postgres"),
    _sql("SELECT status, count(*) FROM shop.orders GROUP BY status", agent="sandbox-7", confidence=None),
    _sql("INSERT INTO analytics.events SELECT * FROM raw.events WHERE event_date BETWEEN '2024-01-01' AND '2024-12-31'", team="analytics"),
    _sql("UPDATE shop.orders SET WHERE", agent="fixer-2"),
    _sql("EXEC sp_executesql @sql", "tsql", team="data-eng"),
    _sql("UPDATE shop.orders SET status = 'void'", confidence=0.99),
    _sql("UPDATE shop.orders SET status = 'retry' WHERE id = 7", confidence=0.4),
    _sql("UPDATE shop.orders SET status = 'retry' WHERE id = 8", confidence=None),
    _sql("UPDATE shop.orders SET status = 'retry' WHERE id = 9", context={"estimated_cost_usd": 25000}),
    _sql("UPDATE shop.orders SET status = 'retry' WHERE id = 10", agent="sandbox-1", context={"estimated_cost_usd": "unknown"}),
    _action("retry_task", {"job": "daily_etl", "task": "load_orders", "run_id": "8f2c9a41", "max_attempts": "3"}, target="daily_etl"),
    _action("retry_task", {"job": "daily_etl", "task": "load_orders"}, team="commerce"),
    _action("scale_compute", {"resource": "etl_workers", "replicas": "8", "from_replicas": "2"}),
    _action("scale_compute", {"resource": "etl_workers", "replicas": "0"}),
    _action("dequeue_dlq", {"queue": "orders_dlq", "disposition": "discard"}),
    _action("trigger_backfill", {"asset": "daily_orders", "start": "2026-01-01", "end": "2026-02-28"}),
    _action("trigger_backfill", {"asset": "daily_orders", "partitions": "2026-03-29,2026-03-30"}, target="shop.orders"),
    _action("modify_schedule", {"job": "hourly_sync", "enabled": "false"}),
    _action("update_schema_mapping", {"source": "crm", "mapping": '{"e_mail": "email"}'}, target="crm.customers"),
    _action("adjust_timeout", {"job": "daily_etl", "timeout_seconds": "3600", "from_seconds": "1800"}, confidence=0.5),
    _action("rotate_credential", {"credential": "svc_loader", "system": "snowflake"}),
    _action("reindex_table", {"table": "shop.orders"}),
)


def percentile(values: Sequence[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call takes, after a full collection and with the collector off."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def governed_ladder(*, observe: bool) -> Ladder:
    """The repository's ladder plus ownership, compliance, a freeze in force at NOW and deny rules."""
    data = {**yaml.safe_load(LADDER_FILE.read_bytes()), **GOVERNANCE}
    data["escalations"] = {**data["escalations"], **GOVERNANCE["escalations"]}
    if observe:
        data["mode"] = "observe"
    return parse_ladder(yaml.safe_dump(data).encode(), source="governed.yaml")


def measure_decide(rounds: int) -> tuple[list[float], list[float], int]:
    """Per-call microseconds of decide() and of the baseline, interleaved; and the distinct cases."""
    ladders = [load_ladder(LADDER_FILE), governed_ladder(observe=False), governed_ladder(observe=True)]
    cases: list[tuple[dict[str, Any], Proposal, Assessment, Ladder, int]] = []
    for raw in MIX:
        proposal = Proposal.model_validate(raw)
        for ladder in ladders:
            assessment = assess(proposal, backfill_max_hours=ladder.escalations.backfill_max_hours)
            cases.extend((raw, proposal, assessment, ladder, level) for level in (1, 2, 3, 4))
    decisions = [decide(p, a, ladder, level=level, now=NOW) for _, p, a, ladder, level in cases]
    codes = {reason.code for d in decisions for reason in d.reasons}
    missing = sorted((POLICY_REASONS - codes) | {d.value for d in Decision} - {d.decision.value for d in decisions})
    if missing:
        sys.exit(f"decide: the proposal mix no longer reaches {', '.join(missing)}; add a proposal to MIX that does")
    decide_us: list[float] = []
    validate_us: list[float] = []
    order = list(range(len(cases)))
    shuffle = random.Random(0).shuffle
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds):
            shuffle(order)
            for i in order:
                raw, proposal, assessment, ladder, level = cases[i]
                steps: list[tuple[list[float], Callable[[], object]]] = [
                    (decide_us, partial(decide, proposal, assessment, ladder, level=level, now=NOW)),
                    (validate_us, partial(Proposal.model_validate, raw)),
                ]
                for sink, fn in steps if (r + i) % 2 == 0 else reversed(steps):
                    start = time.perf_counter_ns()
                    fn()
                    sink.append((time.perf_counter_ns() - start) / 1000)
    finally:
        gc.enable()
    return decide_us, validate_us, len(cases)


def measure_propose(sup: Supervisor, directory: Path, count: int, *, tag: str = "p") -> tuple[list[float], list[float], list[float]]:
    """Per-call milliseconds: Supervisor.propose, assess alone, and connect + INSERT + close."""
    bare = str(directory / "bare.duckdb")
    proposals = [Proposal.model_validate(MIX[i % len(MIX)]) for i in range(count)]
    sup.propose(proposals[0], now=NOW)  # warm-up: creates the ledger's tables
    with duckdb.connect(bare) as db:
        db.execute("CREATE OR REPLACE TABLE proposals (id VARCHAR PRIMARY KEY, created_at TIMESTAMP, proposal JSON)")

    def insert_bare(i: int, proposal: Proposal) -> None:
        db = duckdb.connect(bare)
        db.execute("INSERT INTO proposals VALUES (?, ?, ?)", [f"{tag}{i}", NOW.replace(tzinfo=None), proposal.model_dump_json()])
        db.close()

    propose_ms: list[float] = []
    assess_ms: list[float] = []
    bare_ms: list[float] = []
    for i, proposal in enumerate(proposals):
        now = NOW + timedelta(seconds=i)
        steps: list[tuple[list[float], Callable[[], object]]] = [
            (propose_ms, partial(sup.propose, proposal, now=now, proposal_id=f"{tag}{i}")),
            (bare_ms, partial(insert_bare, i, proposal)),
        ]
        for sink, fn in steps if i % 2 == 0 else reversed(steps):
            sink.append(timed(fn) * 1000)
        assess_ms.append(timed(partial(sup.assess, proposal)) * 1000)
    return propose_ms, assess_ms, bare_ms


def measure_floor(sup: Supervisor, count: int) -> tuple[list[float], list[float]]:
    """Where a propose's time goes, per-call milliseconds: an empty ledger transaction (attach,
    schema check, commit, detach, with the log already folded in), and propose with the file kept
    attached throughout (``Supervisor.held``: its statements alone, no attach or detach)."""
    proposals = [Proposal.model_validate(MIX[i % len(MIX)]) for i in range(count)]

    def empty() -> None:
        with sup.store.transaction():
            pass

    empty()  # folds in the log the proposals before left, so every timed one starts clean
    empty_ms = [timed(empty) * 1000 for _ in range(count)]
    with sup.held():
        held_ms = [timed(partial(sup.propose, proposal, now=NOW + timedelta(seconds=i), proposal_id=f"held{i}")) * 1000 for i, proposal in enumerate(proposals)]
    return empty_ms, held_ms


def load_history(sup: Supervisor, proposals: int) -> float:
    """Bulk-load ``proposals`` earlier proposals behind the ledger's back; returns seconds.

    Each gets a proposal row, a decision, an approval request and the two audit entries propose
    writes, in the sequence order the ledger gives them, before every proposal already there.
    """
    start = time.perf_counter()
    with duckdb.connect(str(sup.store.path)) as db:
        # Make room below the entries already there, so the history comes first in the chain.
        db.execute("UPDATE audit SET seq = seq + $n", {"n": 2 * proposals})
        db.execute("UPDATE decisions SET seq = seq + $n", {"n": proposals})
        at = "TIMESTAMP '2025-01-01' + to_seconds(i)"
        db.execute(f"INSERT INTO proposals SELECT 'h' || i, {at}, 'agent', 'team', 'sql.write', 'h', '{{}}', '{{}}' FROM range($n) r(i)", {"n": proposals})
        db.execute(f"INSERT INTO decisions SELECT i + 1, 'h' || i, {at}, 'require_approval', 'require_approval', 1, 'v', '{{}}' FROM range($n) r(i)", {"n": proposals})
        db.execute(
            f"""INSERT INTO approvals SELECT 'h' || i, 'rejected', 'data-eng', 1, false, 'h', 'v', {at}, {at} + INTERVAL 1 HOUR, 0, {at}, 'alice', NULL
                FROM range($n) r(i)""",
            {"n": proposals},
        )
        db.execute(
            f"""INSERT INTO audit SELECT j + 1, TIMESTAMP '2025-01-01' + to_seconds(j // 2), 'agent',
                       CASE WHEN j % 2 = 0 THEN 'proposal.created' ELSE 'approval.requested' END, 'h' || (j // 2), 'v', '{{}}',
                       sha256((j - 1)::VARCHAR), sha256(j::VARCHAR)
                FROM range($n) r(j) ORDER BY j""",
            {"n": 2 * proposals},
        )
        db.execute("CHECKPOINT")
    return time.perf_counter() - start


def load_outcomes(sup: Supervisor, outcomes: int) -> tuple[float, int]:
    """Bulk-load the synthetic ledger; returns (seconds, outcomes not superseded)."""
    sup.ladder_status(now=NOW)  # creates the ledger's tables
    types = [*sorted(sup.ladder.action_types), "pipeline.reindex_table"]
    policies = [sup.ladder.policy_for(name) for name in types]
    step_s = 3  # one outcome every 3 s: 10M outcomes span about a year

    def at(fraction: float, eligible: Callable[[int, int], bool]) -> list[int]:
        """The row number at which each type changes level, or past the end for types that do not."""
        return [int(fraction * outcomes) if eligible(p.initial, p.ceiling) else outcomes + 1 for p in policies]

    to_2 = at(0.4, lambda initial, ceiling: initial == 1 and ceiling >= 2)
    to_3 = at(0.7, lambda initial, ceiling: initial == 1 and ceiling >= 3)
    back_to_2 = [int(0.9 * outcomes) if name == "pipeline.scale_compute" else outcomes + 1 for name in types]
    changes = [
        (name, before, after, reason, row)
        for name, p2, p3, d2 in zip(types, to_2, to_3, back_to_2)
        for before, after, reason, row in ((1, 2, "promotion", p2), (2, 3, "promotion", p3), (3, 2, "incident", d2))
        if row <= outcomes
    ]
    changes.sort(key=lambda change: change[4])
    start = time.perf_counter()
    with duckdb.connect(str(sup.store.path)) as db:
        db.executemany(
            "INSERT INTO level_changes VALUES (?, ?, ?, ?, ?, '{}', 'bench', TIMESTAMP '2025-01-01' + to_seconds(?::BIGINT), 'bench')",
            [(seq, name, before, after, reason, row * step_s) for seq, (name, before, after, reason, row) in enumerate(changes, 1)],
        )
        db.execute(
            """INSERT INTO proposals SELECT 'seed-' || t || '-' || i, TIMESTAMP '2025-01-01' + to_seconds(i), 'agent', 'team', t, 'h', '{}', '{}'
               FROM unnest($types) u(t), range(3) r(i)""",
            {"types": types},
        )
        # Row i is an outcome of proposal p at time i * step_s. Every hundredth row is an incident
        # after a success of the same proposal, which it supersedes, as record_outcome does.
        db.execute(
            f"""INSERT INTO outcomes
                SELECT i + 1, 'b' || p, $types[k + 1],
                       CASE WHEN i >= $back_to_2[k + 1] THEN 2 WHEN i >= $to_3[k + 1] THEN 3 WHEN i >= $to_2[k + 1] THEN 2 ELSE $initial[k + 1] END,
                       CASE WHEN i % 100 = 98 THEN 'success' WHEN i % 100 = 99 THEN 'incident'
                            WHEN hash(i) % 1000 < 960 THEN 'success' WHEN hash(i) % 1000 < 990 THEN 'failure' ELSE 'rolled_back' END,
                       NULL, 'bench', TIMESTAMP '2025-01-01' + to_seconds(i * {step_s}), i % 100 = 98
                FROM (SELECT i, p, p % {len(types)} AS k FROM (SELECT i, i - (i % 100 = 99)::INT AS p FROM range({outcomes}) r(i)))
                ORDER BY i""",
            {"types": types, "initial": [p.initial for p in policies], "to_2": to_2, "to_3": to_3, "back_to_2": back_to_2},
        )
        [(kept,)] = db.execute("SELECT count(*) FROM outcomes WHERE NOT superseded").fetchall()
    with sup.store.transaction() as db:
        ledger.rebuild_summary(db)
    return time.perf_counter() - start, int(kept)


def measure_recompute(directory: Path, outcomes: int, repeat: int) -> tuple[list[float], list[float], float]:
    """Milliseconds of ladder_status and of the one-scan baseline, interleaved; and the load time."""
    sup = Supervisor(ladder=load_ladder(LADDER_FILE), ledger=directory / "recompute.duckdb")
    load_s, kept = load_outcomes(sup, outcomes)
    counted = sum(r.successes + r.failures + r.incidents + r.rolled_back for r in sup.ladder_status(now=NOW))
    if counted != kept:
        sys.exit(f"decide: ladder_status counts {counted} outcomes but the ledger holds {kept}; evidence() is wrong")

    def scan() -> None:
        with sup.store.transaction() as db:
            db.execute("SELECT action_type, count(*) FROM outcomes WHERE NOT superseded GROUP BY 1").fetchall()

    scan()
    status_ms: list[float] = []
    scan_ms: list[float] = []
    for i in range(repeat):
        steps: list[tuple[list[float], Callable[[], object]]] = [(status_ms, partial(sup.ladder_status, now=NOW)), (scan_ms, scan)]
        for sink, fn in steps if i % 2 == 0 else reversed(steps):
            sink.append(timed(fn) * 1000)
    return status_ms, scan_ms, load_s


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=10_000_000, help="outcomes loaded for the recompute (default: %(default)s)")
    parser.add_argument("--proposals", type=int, default=200, help="proposals recorded with propose (default: %(default)s)")
    parser.add_argument("--history", type=int, default=1_000_000, help="earlier proposals in the ledger for the second propose run (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=40, help="rounds over every decide case (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=7, help="timed ladder_status runs (default: %(default)s)")
    args = parser.parse_args(argv)
    for name in ("outcomes", "proposals", "history", "rounds", "repeat"):
        if getattr(args, name) < 2:
            parser.error(f"--{name} must be at least 2")
    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    env = (f"Python {platform.python_version()}, duckdb {version('duckdb')}, sqlglot {version('sqlglot')}, "
           f"{os.cpu_count()} CPUs, load average {load}")
    print(f"{env}\n")

    decide_us, validate_us, cases = measure_decide(args.rounds)
    d50, d99, v50, v99 = (percentile(decide_us, 50), percentile(decide_us, 99), percentile(validate_us, 50), percentile(validate_us, 99))
    print(f"## decide() latency, parse excluded ({cases} cases x {args.rounds} rounds = {len(decide_us):,} calls each)\n")
    print(render(["", "p50 (us)", "p99 (us)"], [
        ["decide(proposal, assessment, ladder, level, now)", f"{d50:,.1f}", f"{d99:,.1f}"],
        ["Proposal.model_validate(dict) (baseline)", f"{v50:,.1f}", f"{v99:,.1f}"],
    ]))
    print(f"\ndecide / model_validate: {d50 / v50:.2f}x at p50, {d99 / v99:.2f}x at p99\n")

    with tempfile.TemporaryDirectory(prefix="trustladder-bench-") as tmp:
        sup = Supervisor(ladder=load_ladder(LADDER_FILE), ledger=Path(tmp) / "ledger.duckdb")
        propose_ms, assess_ms, bare_ms = measure_propose(sup, Path(tmp), args.proposals)
        empty_ms, held_ms = measure_floor(sup, args.proposals)
        history_s = load_history(sup, args.history)
        grown_ms, _, grown_bare_ms = measure_propose(sup, Path(tmp), args.proposals, tag="q")
        p50, p99, a50, a99, b50, b99 = (percentile(propose_ms, 50), percentile(propose_ms, 99), percentile(assess_ms, 50),
                                        percentile(assess_ms, 99), percentile(bare_ms, 50), percentile(bare_ms, 99))
        g50, g99, gb50 = percentile(grown_ms, 50), percentile(grown_ms, 99), percentile(grown_bare_ms, 50)
        print(f"## Supervisor.propose on a ledger file ({args.proposals} proposals)\n")
        print(render(["", "p50 (ms)", "p99 (ms)"], [
            ["Supervisor.propose (assess + decide + record)", f"{p50:,.2f}", f"{p99:,.2f}"],
            ["assess alone (parse + classify, part of propose)", f"{a50:,.2f}", f"{a99:,.2f}"],
            ["duckdb.connect + INSERT + close (baseline)", f"{b50:,.2f}", f"{b99:,.2f}"],
            [f"Supervisor.propose, {args.history:,} earlier proposals in the ledger", f"{g50:,.2f}", f"{g99:,.2f}"],
            ["duckdb.connect + INSERT + close, alongside it (baseline)", f"{gb50:,.2f}", f"{percentile(grown_bare_ms, 99):,.2f}"],
        ]))
        print(f"\npropose / bare connect-insert-close: {p50 / b50:.2f}x at p50, {p99 / b99:.2f}x at p99")
        print(f"with {args.history:,} earlier proposals (loaded in {history_s:.1f} s): {g50 / gb50:.2f}x the baseline at p50, "
              f"{g50 / p50:.2f}x the p50 on the new ledger\n")
        print("Where the time goes: the attach that keeps the file free for other processes, and the statements.\n")
        print(render(["", "p50 (ms)", "p99 (ms)"], [
            ["ledger transaction with nothing in it (attach, schema check, commit, detach)", f"{percentile(empty_ms, 50):,.2f}", f"{percentile(empty_ms, 99):,.2f}"],
            ["Supervisor.propose with the file held attached (statements only)", f"{percentile(held_ms, 50):,.2f}", f"{percentile(held_ms, 99):,.2f}"],
        ]))
        print()

        status_ms, scan_ms, load_s = measure_recompute(Path(tmp), args.outcomes, args.repeat)
    s50, s_best, c50 = statistics.median(status_ms), min(status_ms), statistics.median(scan_ms)
    print(f"## Ladder recompute over {args.outcomes:,} outcomes (loaded in {load_s:.1f} s; {args.repeat} runs)\n")
    print(render(["", "median (ms)", "best (ms)"], [
        ["Supervisor.ladder_status", f"{s50:,.1f}", f"{s_best:,.1f}"],
        ["one grouped count over outcomes (baseline)", f"{c50:,.1f}", f"{min(scan_ms):,.1f}"],
    ]))
    print(f"\nladder_status / one grouped scan: {s50 / c50:.2f}x (median)\n")

    summary = [
        ["decide() p99", f"{d99:,.0f} us", f"{v99:,.0f} us (model_validate)", f"{d99 / v99:.2f}x", f"<= {DECIDE_P99_US:,.0f} us",
         verdict(d99 <= DECIDE_P99_US)],
        [f"propose p50, {args.proposals} proposals", f"{p50:,.1f} ms", f"{b50:,.1f} ms (connect+insert+close)", f"{p50 / b50:.2f}x", f"<= {PROPOSE_P50_MS:g} ms",
         verdict(p50 <= PROPOSE_P50_MS)],
        [f"propose p50, {args.history:,} earlier", f"{g50:,.1f} ms", f"{gb50:,.1f} ms (connect+insert+close)", f"{g50 / gb50:.2f}x",
         f"<= {PROPOSE_P50_MS:g} ms", verdict(g50 <= PROPOSE_P50_MS)],
        [f"ladder_status, {args.outcomes:,} outcomes", f"{s50:,.0f} ms", f"{c50:,.0f} ms (one grouped scan)", f"{s50 / c50:.2f}x",
         f"<= {RECOMPUTE_MS:g} ms", verdict(s50 <= RECOMPUTE_MS)],
    ]
    headers = ["measure", "measured", "baseline", "measured / baseline", "target", "result"]
    print("## Results\n")
    print(render(headers, summary))
    print()
    print_summary("decide.py", argv, env, headers, summary)
    print(f"\n`decide()` p50 is {d50:,.0f} us over {len(decide_us):,} calls. `propose` p99 is {p99:,.1f} ms; classifying "
          f"alone takes {a50:,.1f} ms at p50, so the rest is the ledger transaction. `ladder_status` best run: {s_best:,.0f} ms.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

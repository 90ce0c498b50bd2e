"""How long ``trustladder report`` takes on a big ledger, and whether its figures hold there.

A ledger of ``--proposals`` proposals over a year is bulk-loaded with ``INSERT ... SELECT ... FROM
range()`` (about 1M proposals, with their decisions, approval requests, votes, executions,
outcomes, sampled reviews and a few level changes, load in well under a minute), following fixed
rules of the row number so that every figure can be recounted here in plain Python. Then
``Supervisor.report`` is timed (one warm-up, then ``--repeat`` runs), and so are the text and HTML
renderings; the run stops if the report's totals differ from the recount.

    python benchmarks/report.py [--proposals N] [--repeat N] [--keep DIR]

The rules (``i`` is the row number):

- type: ``TYPES[i % 8]``; created at ``2025-01-01 + i x (one year / N)``.
- the ladder's decision, by ``(i // 8) % 10``: 0-3 require_approval, 4 deny, else allow (even) or
  notify (odd). Every hundredth proposal (``i % 100 == 99``) was decided in observe mode: an approval
  request for anything not denied, recorded as deny when the ladder would have let it run.
- the human's verdict on a request, by ``(i // 80) % 10``: 0-6 approved, 7-8 rejected (reason
  ``reason {i % 7}``), 9 expired undecided (pending for the last 1,000 rows); decided after
  ``i % 97 + 1`` minutes.
- executed (2 hours after) when enforced and allowed, notified or approved; outcome by ``i % 50``:
  0 failure, 1 incident, 2 rolled_back, else success; every twentieth allowed execution sampled
  for review, ``i % 3``: good, bad, pending.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from supervisor import ledger
from supervisor.service import Supervisor
from supervisor.trust_ladder import load_ladder

REPO_ROOT = Path(__file__).resolve().parent.parent

TYPES = ["sql.write", "sql.drop", "sql.schema_change", "pipeline.retry_task", "pipeline.scale_compute", "sql.read", "pipeline.trigger_backfill", "sql.costly_backfill"]
START = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 2, tzinfo=UTC)
SPAN_S = 365 * 86400

_FACTS = """
    CREATE TEMP TABLE f AS
    SELECT *, ladder_decision = 'require_approval' OR (observed AND ladder_decision <> 'deny') AS asked,
           CASE WHEN s < 7 THEN 'approved' WHEN s < 9 THEN 'rejected' WHEN i >= $n - 1000 THEN 'pending' ELSE 'expired' END AS state
    FROM (SELECT i, 'p' || i AS id, TIMESTAMP '2025-01-01' + to_microseconds((i * $step_us)::BIGINT) AS created_at, $types[i % 8 + 1] AS action_type,
                 CASE WHEN (i // 8) % 10 < 4 THEN 'require_approval' WHEN (i // 8) % 10 = 4 THEN 'deny'
                      WHEN (i // 8) % 2 = 0 THEN 'allow' ELSE 'notify' END AS ladder_decision,
                 i % 100 = 99 AS observed, (i // 80) % 10 AS s
          FROM range($n) r(i))"""

_LOAD = (
    """INSERT INTO proposals SELECT id, created_at, 'agent-' || (i % 5), 'team', action_type, 'h',
           '{"reason": "diagnosis ' || (i % 11) || '"}', '{"summary": "does a thing"}' FROM f""",
    """INSERT INTO decisions SELECT i + 1, id, created_at,
           CASE WHEN observed AND ladder_decision IN ('allow', 'notify') THEN 'deny' ELSE ladder_decision END, ladder_decision, 1, 'v',
           CASE WHEN observed THEN '{"mode": "observe"}' ELSE '{"mode": "enforce"}' END FROM f""",
    """INSERT INTO approvals SELECT id, state, 'data-platform', 1, false, 'h', 'v', created_at, created_at + INTERVAL 30 MINUTE, 0,
           CASE state WHEN 'pending' THEN NULL WHEN 'expired' THEN created_at + INTERVAL 30 MINUTE ELSE created_at + to_minutes(i % 97 + 1) END,
           CASE state WHEN 'pending' THEN NULL WHEN 'expired' THEN 'tick' ELSE 'alice' END, NULL FROM f WHERE asked""",
    """INSERT INTO votes SELECT id, 'alice', CASE state WHEN 'approved' THEN 'approve' ELSE 'reject' END,
           CASE state WHEN 'rejected' THEN 'reason ' || (i % 7) END, created_at + to_minutes(i % 97 + 1)
       FROM f WHERE asked AND state IN ('approved', 'rejected')""",
    """CREATE TEMP TABLE ran AS SELECT row_number() OVER (ORDER BY i) AS seq, * FROM f
       WHERE NOT observed AND (ladder_decision IN ('allow', 'notify') OR (asked AND state = 'approved'))""",
    "INSERT INTO executions SELECT seq, id, created_at + INTERVAL 2 HOUR, 'bench', 'h', 'v', 'allow' FROM ran",
    """INSERT INTO outcomes SELECT seq, id, action_type, 1,
           CASE i % 50 WHEN 0 THEN 'failure' WHEN 1 THEN 'incident' WHEN 2 THEN 'rolled_back' ELSE 'success' END,
           NULL, 'bench', created_at + INTERVAL 3 HOUR, false FROM ran""",
    """INSERT INTO reviews SELECT id, action_type, 3, 0.05, 'data-platform', created_at + INTERVAL 2 HOUR,
           CASE i % 3 WHEN 0 THEN 'good' WHEN 1 THEN 'bad' END, CASE WHEN i % 3 < 2 THEN 'bob' END,
           CASE WHEN i % 3 < 2 THEN created_at + INTERVAL 5 HOUR END, NULL
       FROM ran WHERE ladder_decision = 'allow' AND i % 20 = 0""",
    """INSERT INTO level_changes VALUES
           (1, 'pipeline.retry_task', 1, 2, 'promotion', '{}', 'bob', TIMESTAMP '2025-04-01', 'v'),
           (2, 'pipeline.retry_task', 2, 1, 'incident', '{"outcome": "incident"}', NULL, TIMESTAMP '2025-12-20', 'v'),
           (3, 'pipeline.scale_compute', 1, 2, 'promotion', '{}', 'bob', TIMESTAMP '2025-06-01', 'v')""",
)


def build_ledger(path: Path, proposals: int) -> float:
    """Bulk-load the ledger at ``path`` by the rules above; returns the seconds it took."""
    started = time.perf_counter()
    sup = Supervisor(ladder=load_ladder(REPO_ROOT / "trust_ladder.yaml"), ledger=path)
    with sup.store.transaction():
        pass  # creates the schema
    with duckdb.connect(str(path)) as db:
        db.execute(_FACTS, {"n": proposals, "step_us": SPAN_S * 1_000_000 // proposals, "types": TYPES})
        for statement in _LOAD:
            db.execute(statement)
    with sup.store.transaction() as db:
        ledger.rebuild_summary(db)
    return time.perf_counter() - started


def expected(proposals: int) -> dict[str, Any]:
    """The headline figures, recounted from the rules in plain Python."""
    counts: Counter[str] = Counter()
    waits: list[int] = []
    for i in range(proposals):
        band, observed, s = (i // 8) % 10, i % 100 == 99, (i // 80) % 10
        decision = "require_approval" if band < 4 else "deny" if band == 4 else "allow" if (i // 8) % 2 == 0 else "notify"
        counts["proposals"] += 1
        counts["needs_human"] += decision == "require_approval"
        counts["denied"] += decision == "deny"
        asked = decision == "require_approval" or (observed and decision != "deny")
        state = "approved" if s < 7 else "rejected" if s < 9 else "pending" if i >= proposals - 1000 else "expired"
        if asked:
            counts[f"approvals_{state}"] += 1
            if state in ("approved", "rejected"):
                waits.append(i % 97 + 1)
                if decision == "require_approval":
                    counts[f"gated_{state}"] += 1
                if observed:
                    counts["observed"] += 1
                    counts["agreed"] += (decision in ("allow", "notify")) == (state == "approved")
        if not observed and (decision in ("allow", "notify") or (asked and state == "approved")):
            counts["executions"] += 1
            counts[{0: "failure", 1: "incident", 2: "rolled_back"}.get(i % 50, "success")] += 1
            counts["sampled"] += decision == "allow" and i % 20 == 0
    return {"counts": counts, "waits": waits}


def check(report: Any, want: dict[str, Any]) -> list[str]:
    """Where the report's totals differ from the recount."""
    counts, totals = want["counts"], report.totals
    pairs = {
        "proposals": (totals.proposals, counts["proposals"]),
        "needs_human": (totals.needs_human, counts["needs_human"]),
        "denied": (totals.denied, counts["denied"]),
        "executions": (totals.executions, counts["executions"]),
        "success": (totals.outcomes.success, counts["success"]),
        "failure": (totals.outcomes.failure, counts["failure"]),
        "incident": (totals.outcomes.incident, counts["incident"]),
        "rolled_back": (totals.outcomes.rolled_back, counts["rolled_back"]),
        "approved": (totals.approvals.approved, counts["approvals_approved"]),
        "rejected": (totals.approvals.rejected, counts["approvals_rejected"]),
        "expired": (totals.approvals.expired, counts["approvals_expired"]),
        "pending": (totals.approvals.pending, counts["approvals_pending"]),
        "gated_decided": (totals.approvals.gated_decided, counts["gated_approved"] + counts["gated_rejected"]),
        "observed": (totals.agreement.decided, counts["observed"]),
        "agreed": (totals.agreement.agreed, counts["agreed"]),
        "sampled": (totals.reviews.sampled, counts["sampled"]),
        "decided": (totals.time_to_decision.decided, len(want["waits"])),
        "p50 minutes": (round(totals.time_to_decision.p50_minutes or 0, 6), round(_quantile(want["waits"], 0.5), 6)),
        "p95 minutes": (round(totals.time_to_decision.p95_minutes or 0, 6), round(_quantile(want["waits"], 0.95), 6)),
    }
    return [f"{name}: report {got}, recount {should}" for name, (got, should) in pairs.items() if got != should]


def _quantile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=1_000_000, help="proposals to load (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after one warm-up (default 3)")
    parser.add_argument("--keep", type=Path, help="build the ledger in this directory and keep it")
    args = parser.parse_args(argv)
    from supervisor.report_html import render_report_html
    from supervisor.report_text import render_report

    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        path = directory / "report-bench.duckdb"
        path.unlink(missing_ok=True)
        load_s = build_ledger(path, args.proposals)
        sup = Supervisor(ladder=load_ladder(REPO_ROOT / "trust_ladder.yaml"), ledger=path)
        report = sup.report(now=NOW)
        problems = check(report, expected(args.proposals))
        if problems:
            sys.exit("report: figures differ from the recount:\n  " + "\n  ".join(problems))
        gc.collect()
        runs = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            report = sup.report(now=NOW)
            runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        text, page = render_report(report), render_report_html(report)
        render_s = time.perf_counter() - started
        ranged = time.perf_counter()
        sup.report(now=NOW, since=NOW - timedelta(days=30))
        ranged_s = time.perf_counter() - ranged
        size = path.stat().st_size
    print(f"ledger: {args.proposals:,} proposals ({size / 2**20:,.0f} MB), loaded in {load_s:.1f} s; figures match the recount")
    print(f"Supervisor.report (whole ledger): median {statistics.median(runs):.2f} s over {len(runs)} runs (min {min(runs):.2f}, max {max(runs):.2f})")
    print(f"Supervisor.report --since 30 days: {ranged_s:.2f} s")
    print(f"rendering: text {len(text):,} chars and HTML {len(page):,} chars in {render_s:.2f} s")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, duckdb {duckdb.__version__}, Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

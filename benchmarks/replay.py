"""Replay throughput: ``Supervisor.simulate`` over a synthetic ledger of a million proposals.

What is measured (in one process and one run):

1. A synthetic ledger is built with SQL (``INSERT ... SELECT ... FROM range()``) in a temporary
   directory, on a file migrated by ``Store`` so the schema is the real one. Its proposals are
   real: a few hundred proposals (SQL of every category over some forty tables in four dialects,
   pipeline actions over a dozen jobs) are classified once with ``classifiers.assess``, and each
   ledger row picks one, with an agent and its team, a confidence (15% below 0.7) and, for 15%,
   an estimated cost (a few above the ceiling, a few not a number). Rows are spread over 90 days.
   The history around them is what the API would have written: approval requests with their
   waits, outcomes (failures now and then, incidents on types that stay at level 1, some
   superseding a success), platform sign-offs of promotions that are due (``sql.write`` 1 -> 2 ->
   3, later demoted by hand; ``pipeline.retry_task``; ``pipeline.scale_compute`` twice), a
   standing approval that is later revoked, and the audit entries that order it all. Each row's
   recorded decision is ``decide()``'s, called once per distinct case, so replaying the ledger
   under its own ladder must change nothing: the run stops if it does.
2. ``Supervisor.simulate`` is timed under (a) the ledger's own ladder and (b) a candidate that
   puts ``sql.write`` at initial and ceiling 3: "what happens if I raise sql.write to level 3?".
3. Baseline, in the same run: the naive replay, ``Proposal``/``Assessment`` parsed from the
   stored JSON and ``decide()`` called for each proposal, over an evenly spread sample of
   ``--sample`` proposals (20,000 by default) and extrapolated. Its levels and standing approvals
   come from the same replayed history, which it is not charged for. The sample's naive
   decisions must equal the vectorised ones.

Target: at least 100,000 proposals per second on 1,000,000 proposals. Run from anywhere:

    python benchmarks/replay.py [--proposals N] [--sample N] [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import logging
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import yaml
from tables import print_summary, render  # benchmarks/tables.py, beside this script

from classifiers.assessment import assess
from supervisor import ledger
from supervisor.models import Proposal
from supervisor.policy import decide
from supervisor.replay import decide_each, decide_groups, read, read_naive
from supervisor.service import Supervisor
from supervisor.standing import StandingApproval
from supervisor.trust_ladder import Ladder, load_ladder

REPO_ROOT = Path(__file__).resolve().parent.parent
LADDER_FILE = REPO_ROOT / "trust_ladder.yaml"
START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
SPAN_DAYS = 90
TARGET_PER_S = 100_000
SLOTS = 10_000  # the weighted pick of a template: each template owns a share of the slots

TABLES = {
    "commerce": ["shop.orders", "shop.order_items", "shop.payments", "shop.refunds", "shop.carts", "shop.inventory", "shop.shipments", "shop.returns"],
    "finance": ["finance.ledger", "finance.invoices", "finance.adjustments", "finance.fx_rates", "finance.payouts", "finance.accruals"],
    "growth": ["crm.customers", "crm.contacts", "crm.campaigns", "crm.segments", "crm.events", "crm.subscriptions"],
    "data-eng": ["staging.events_raw", "staging.orders_raw", "staging.clicks", "raw.events", "raw.sessions", "raw.pageviews", "staging.payments_raw"],
    "analytics": ["analytics.daily_orders", "analytics.revenue", "analytics.funnel", "analytics.retention", "analytics.cohorts", "analytics.kpis"],
}
AGENTS = [
    ("fixer-1", "commerce"), ("fixer-2", "commerce"), ("ledger-bot", "finance"), ("recon-agent", "finance"),
    ("crm-fixer", "growth"), ("growth-bot", "growth"), ("ops-bot", "data-eng"), ("ingest-agent", "data-eng"),
    ("etl-doctor", "data-eng"), ("bi-agent", "analytics"), ("metrics-fixer", "analytics"), ("sandbox-1", "analytics"),
]
JOBS = ["daily_etl", "hourly_sync", "orders_load", "crm_export", "finance_close", "events_ingest", "sessionize", "kpi_refresh", "fx_update", "dbt_build", "backup", "reverse_etl"]
# (weight in slots, dialect, SQL with {t} for a table, or None for pipeline actions built below)
SQL_TEMPLATES: list[tuple[int, str, str]] = [
    (1800, "duckdb", "UPDATE {t} SET status = 'retry' WHERE status = 'stuck' AND updated_at < now() - INTERVAL 1 HOUR"),
    (900, "postgres", "DELETE FROM {t} WHERE id IN (SELECT id FROM staging.duplicates WHERE batch = 7)"),
    (900, "snowflake", "INSERT INTO {t} SELECT * FROM staging.replay WHERE loaded_at >= '2026-03-01' AND loaded_at < '2026-03-01 06:00:00'"),
    (500, "duckdb", "MERGE INTO {t} t USING staging.fixes s ON t.id = s.id WHEN MATCHED THEN UPDATE SET amount = s.amount"),
    (1000, "duckdb", "SELECT status, count(*) FROM {t} GROUP BY status"),
    (350, "bigquery", "INSERT INTO {t} SELECT * FROM raw.events WHERE event_date BETWEEN '2025-01-01' AND '2025-12-31'"),
    (250, "postgres", "ALTER TABLE {t} ADD COLUMN note VARCHAR"),
    (80, "duckdb", "DELETE FROM {t}"),
    (40, "snowflake", "UPDATE {t} SET flag = true WHERE 1 = 1"),
    (60, "duckdb", "DROP TABLE {t}"),
    (40, "snowflake", "TRUNCATE TABLE {t}"),
    (70, "spark", "INSERT OVERWRITE TABLE {t} SELECT * FROM staging.rebuild"),
    (30, "postgres", "GRANT SELECT ON {t} TO PUBLIC"),
    (30, "tsql", "EXEC sp_fix_{n} @table = '{t}'"),
    (30, "duckdb", "UPDATE {t} SET WHERE"),
]
ACTION_TEMPLATES: list[tuple[int, str, dict[str, str]]] = [
    (1500, "retry_task", {"job": "{j}", "task": "load", "max_attempts": "3"}),
    (450, "scale_compute", {"resource": "{j}_workers", "replicas": "6", "from_replicas": "3"}),
    (60, "scale_compute", {"resource": "{j}_workers", "replicas": "0"}),
    (300, "rotate_credential", {"credential": "svc_{j}", "system": "snowflake"}),
    (350, "trigger_backfill", {"job": "{j}", "partitions": "2026-03-01"}),
    (120, "trigger_backfill", {"job": "{j}", "start": "2026-01-01", "end": "2026-02-28"}),
    (300, "dequeue_dlq", {"queue": "{j}_dlq", "disposition": "replay"}),
    (300, "adjust_timeout", {"job": "{j}", "timeout_seconds": "3600", "from_seconds": "1800"}),
    (100, "clear_stuck_task", {"job": "{j}", "task": "load"}),
    (60, "modify_schedule", {"job": "{j}", "cron": "0 * * * *"}),
]
# Recorded human level changes: (action type, day, from, to, reason, actor). Each sign-off falls
# where the promotion is due under the shipped ladder (50 outcomes, 7 days, error bound < 5%).
HUMAN_CHANGES = [
    ("sql.write", 10, 1, 2, "promotion", "alice"),
    ("pipeline.retry_task", 14, 1, 2, "promotion", "bob"),
    ("pipeline.scale_compute", 20, 1, 2, "promotion", "alice"),
    ("sql.write", 30, 2, 3, "promotion", "alice"),
    ("pipeline.scale_compute", 45, 2, 3, "promotion", "bob"),
    ("sql.write", 70, 3, 2, "manual", "bob"),
]
STANDING = ("sa-bench0001", "pipeline.rotate_credential", 20, 50, 40)  # id, type, granted day, until day, revoked day


def _us(day: float) -> int:
    return int((START + timedelta(days=day)).timestamp() * 1_000_000)


def templates(ladder: Ladder) -> list[dict[str, Any]]:
    """Every distinct proposal the ledger's rows pick from, classified once with the real classifier."""
    found: list[dict[str, Any]] = []
    tables = [(team, table) for team, names in TABLES.items() for table in names]
    for weight, dialect, text in SQL_TEMPLATES:
        for n, (_, table) in enumerate(tables):
            found.append({"weight": weight / len(tables), "proposal": {"sql": text.format(t=table, n=n), "dialect": dialect, "target": table if n % 3 == 0 else None,
                                                                        "reason": "fix after the incident", "rollback": "restore the snapshot"}})
    for weight, name, params in ACTION_TEMPLATES:
        for job in JOBS:
            found.append({"weight": weight / len(JOBS), "proposal": {"action": name, "params": {k: v.format(j=job) for k, v in params.items()}, "target": job,
                                                                      "reason": "the job is failing"}})
    for item in found:
        proposal = Proposal.model_validate(item["proposal"])
        item["assessment"] = assess(proposal, backfill_max_hours=ladder.escalations.backfill_max_hours)
        # the row fills in agent, team, confidence and context; these sentinels mark where
        base = proposal.model_copy(update={"agent": "@@AGENT", "team": "@@TEAM", "confidence": 0.123456789})
        item["json"] = base.model_dump_json()
    total = sum(item["weight"] for item in found)
    start = 0
    for item in found:
        share = max(1, round(item["weight"] / total * SLOTS))
        item["slots"] = (start, min(SLOTS, start + share))
        start += share
    found[-1]["slots"] = (found[-1]["slots"][0], max(SLOTS, found[-1]["slots"][1]))
    return [item for item in found if item["slots"][0] < item["slots"][1]]


def _level_case(column: str, types: list[str], ladder: Ladder) -> str:
    """SQL for the recorded level of each type at a time column, from HUMAN_CHANGES."""
    branches = []
    for name in types:
        steps = [(day, to) for t, day, _, to, _, _ in HUMAN_CHANGES if t == name]
        level = f"{ladder.policy_for(name).initial}"
        for day, to in steps:
            level = f"CASE WHEN {column} >= {_us(day)} THEN {to} ELSE {level} END"
        branches.append(f"WHEN '{name}' THEN {level}")
    return f"(CASE action_type {' '.join(branches)} END)"


def build_ledger(path: Path, proposals: int, ladder: Ladder) -> dict[str, Any]:
    """Write the synthetic ledger; returns what was written."""
    Supervisor(ladder=ladder, ledger=path).ladder_status(now=START)  # creates and migrates the ledger
    found = templates(ladder)
    types = sorted({item["assessment"].action_type for item in found})
    sa_id, sa_type, sa_from, sa_until, sa_revoked = STANDING
    standing = StandingApproval(standing_id=sa_id, action_types=(sa_type,), granted_by="alice", granted_at=START + timedelta(days=sa_from),
                                expires_at=START + timedelta(days=sa_until), reason="credential rotations during the vault migration")
    # The recorded decision of every case a row can be: template x low confidence x cost x level x
    # standing approval in force. Under this ladder nothing else reaches decide()'s answer.
    costs = {"none": None, "under": 1234.0, "over": 25000.0, "bad": "unknown"}
    cases = []
    levels_of = {name: {ladder.policy_for(name).initial} | {to for t, _, _, to, _, _ in HUMAN_CHANGES if t == name} for name in types}
    for k, item in enumerate(found):
        action_type = item["assessment"].action_type
        for low in (False, True):
            for cost_state, cost in costs.items():
                for level in sorted(levels_of[action_type]):
                    for covered in (False, True) if action_type == sa_type else (False,):
                        context = {} if cost is None else {"estimated_cost_usd": cost}
                        proposal = Proposal.model_validate({**item["proposal"], "agent": "fixer-1", "team": "commerce", "confidence": 0.6 if low else 0.9, "context": context})
                        now = START + timedelta(days=(sa_from + sa_revoked) / 2 if covered else 1)
                        made = decide(proposal, item["assessment"], ladder, level=level, now=now, standing=(standing,) if covered else ())
                        cases.append((k, low, cost_state, level, covered, made.decision.value, made.ladder_decision.value, made.level, made.model_dump_json()))
    step = SPAN_DAYS * 86_400_000_000 // proposals
    with duckdb.connect(str(path)) as db:
        db.execute("CREATE TEMP TABLE tpl (k INT, lo INT, hi INT, action_type VARCHAR, body VARCHAR, assessment VARCHAR)")
        db.executemany("INSERT INTO tpl VALUES (?, ?, ?, ?, ?, ?)",
                       [(k, *item["slots"], item["assessment"].action_type, item["json"], item["assessment"].model_dump_json()) for k, item in enumerate(found)])
        db.execute("CREATE TEMP TABLE slot AS SELECT s AS slot, k FROM tpl, range(lo, hi) r(s)")
        db.execute("CREATE TEMP TABLE cases (k INT, low BOOLEAN, cost VARCHAR, level INT, covered BOOLEAN, decision VARCHAR, ladder_decision VARCHAR, effective INT, body VARCHAR)")
        db.executemany("INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", cases)
        db.execute("CREATE TEMP TABLE agents AS SELECT unnest($a) AS agent, unnest($t) AS team, unnest(range(len($a))) AS n",
                   {"a": [a for a, _ in AGENTS], "t": [t for _, t in AGENTS]})
        # One row per proposal: its template, agent, confidence, cost and time, and its recorded level.
        db.execute(
            f"""CREATE TEMP TABLE rows AS
                WITH r AS (
                  SELECT i, ({_us(0)} + i * {step} + hash(i, 'jitter') % {max(1, step // 2)})::BIGINT AS ts,
                         hash(i, 'template') % {SLOTS} AS slot, hash(i, 'agent') % {len(AGENTS)} AS agent_n,
                         hash(i, 'confidence') % 100 AS hc, hash(i, 'cost') % 100 AS hk, hash(i, 'amount') % 100000 AS amount
                  FROM range({proposals}) t(i))
                SELECT r.i, r.ts, tpl.k, tpl.action_type, tpl.body, tpl.assessment, agents.agent, agents.team,
                       round(CASE WHEN hc < 85 THEN 0.75 + (hc % 25) / 100 ELSE 0.5 + (hc % 20) / 100 END, 2) AS confidence,
                       CASE WHEN hk < 85 THEN 'none' WHEN hk < 97 THEN 'under' WHEN hk < 99 THEN 'over' ELSE 'bad' END AS cost,
                       CASE WHEN hk < 85 THEN NULL WHEN hk < 97 THEN (50 + amount % 9950)::VARCHAR WHEN hk < 99 THEN (10001 + amount)::VARCHAR ELSE '"unknown"' END AS cost_json
                FROM r JOIN slot USING (slot) JOIN tpl USING (k) JOIN agents ON agents.n = r.agent_n"""
        )
        level_at = _level_case("ts", types, ladder)
        db.execute(
            f"""CREATE TEMP TABLE decided AS
                SELECT rows.*, c.decision, c.ladder_decision, c.effective, c.body AS decision_body,
                       (hash(i, 'wait') % 100)::BIGINT AS hw
                FROM (SELECT *, {level_at} AS level,
                             action_type = '{sa_type}' AND ts >= {_us(sa_from)} AND ts < {_us(sa_revoked)} AS covered FROM rows) rows
                JOIN cases c ON c.k = rows.k AND c.low = (rows.confidence < 0.7) AND c.cost = rows.cost AND c.level = rows.level AND c.covered = rows.covered"""
        )
        written = db.execute("SELECT count(*) FROM decided").fetchone()
        if written is None or written[0] != proposals:
            raise SystemExit(f"replay benchmark: {written} proposals got a recorded decision, expected {proposals}")
        db.execute(
            """INSERT INTO proposals
               SELECT 'p' || lpad(i::VARCHAR, 8, '0'), make_timestamp(ts), agent, team, action_type, md5(body),
                      replace(replace(replace(replace(body, '"@@AGENT"', to_json(agent)::VARCHAR), '"@@TEAM"', to_json(team)::VARCHAR),
                              '0.123456789', confidence::VARCHAR),
                              '"context":{}', CASE WHEN cost_json IS NULL THEN '"context":{}' ELSE '"context":{"estimated_cost_usd":' || cost_json || '}' END),
                      assessment
               FROM decided ORDER BY i"""
        )
        db.execute(
            """INSERT INTO decisions
               SELECT i + 1, 'p' || lpad(i::VARCHAR, 8, '0'), make_timestamp(ts), decision, ladder_decision, effective, $version, decision_body
               FROM decided ORDER BY i""",
            {"version": ladder.policy_version},
        )
        # Approval waits: 2 to 51 minutes, most under a quarter of an hour; those past 30 minutes were escalated once. 8% rejected.
        db.execute(
            """INSERT INTO approvals
               SELECT 'p' || lpad(i::VARCHAR, 8, '0'), CASE WHEN hw < 92 THEN 'approved' ELSE 'rejected' END, 'data-platform', 1,
                      false, md5(body), $version, make_timestamp(ts), make_timestamp(ts + greatest(30, 2 + hw * hw // 200) * 60000000),
                      (2 + hw * hw // 200 > 30)::INT, make_timestamp(ts + (2 + hw * hw // 200) * 60000000), CASE WHEN hw % 2 = 0 THEN 'alice' ELSE 'bob' END, NULL
               FROM decided WHERE decision = 'require_approval' ORDER BY i""",
            {"version": ladder.policy_version},
        )
        # Outcomes of 70% of what ran: a failure every 997th row; on types that never leave level 1,
        # an incident every 503rd row, superseding the success recorded before it.
        level_case_outcome = _level_case("ran", types, ladder)
        stay = [name for name in types if ladder.policy_for(name).ceiling == 1]
        db.execute(
            """CREATE TEMP TABLE ran AS
                SELECT i, action_type, CASE WHEN decision = 'require_approval' THEN ts + (12 + hw * hw // 200) * 60000000 ELSE ts + 600000000 END AS ran,
                       CASE WHEN i % 997 = 0 THEN 'failure' ELSE 'success' END AS outcome,
                       action_type IN (SELECT unnest($stay)) AND i % 503 = 0 AS incident
                FROM decided
                WHERE (decision IN ('allow', 'notify') OR (decision = 'require_approval' AND hw < 92)) AND hash(i, 'ran') % 10 < 7""",
            {"stay": stay},
        )
        db.execute(
            """CREATE TEMP TABLE outs AS
                SELECT row_number() OVER (ORDER BY ran, i, superseded DESC) AS seq, * FROM (
                  SELECT i, action_type, ran, outcome, incident AS superseded FROM ran
                  UNION ALL SELECT i, action_type, ran + 3600000000, 'incident', false FROM ran WHERE incident)"""
        )
        db.execute(
            f"""INSERT INTO outcomes
                SELECT seq, 'p' || lpad(i::VARCHAR, 8, '0'), action_type, {level_case_outcome}, outcome, NULL, 'bench', make_timestamp(ran), superseded
                FROM outs ORDER BY seq"""
        )
        db.executemany(
            "INSERT INTO level_changes VALUES (?, ?, ?, ?, ?, '{}', ?, make_timestamp(?), ?)",
            [(n, name, before, after, reason, actor, _us(day), ladder.policy_version) for n, (name, day, before, after, reason, actor) in enumerate(HUMAN_CHANGES, 1)],
        )
        db.execute(
            "INSERT INTO standing_approvals VALUES (?, ?, make_timestamp(?), make_timestamp(?), make_timestamp(?), 'bob')",
            [sa_id, standing.model_dump_json(), _us(sa_from), _us(sa_until), _us(sa_revoked)],
        )
        # The audit trail orders what happened; the replay reads its order, not its hashes.
        db.execute(
            """INSERT INTO audit
                SELECT row_number() OVER (ORDER BY ts, kind, n), make_timestamp(ts), 'bench', event, subject, $version, '{}', '', ''
                FROM (
                  SELECT ts, 0 AS kind, i AS n, 'proposal.created' AS event, 'p' || lpad(i::VARCHAR, 8, '0') AS subject FROM decided
                  UNION ALL SELECT ts, 1, i, 'approval.requested', 'p' || lpad(i::VARCHAR, 8, '0') FROM decided WHERE decision = 'require_approval'
                  UNION ALL SELECT ran, 2, seq, 'outcome.recorded', 'p' || lpad(i::VARCHAR, 8, '0') FROM outs
                  UNION ALL SELECT epoch_us(changed_at), 3, seq, 'level.changed', action_type FROM level_changes
                  UNION ALL SELECT epoch_us(granted_at), 4, 0, 'standing.granted', id FROM standing_approvals
                  UNION ALL SELECT epoch_us(revoked_at), 5, 0, 'standing.revoked', id FROM standing_approvals)""",
            {"version": ladder.policy_version},
        )
        counts = dict(db.execute(
            """SELECT 'proposals', count(*) FROM proposals UNION ALL SELECT 'outcomes', count(*) FROM outcomes
               UNION ALL SELECT 'approvals', count(*) FROM approvals UNION ALL SELECT 'audit', count(*) FROM audit"""
        ).fetchall())
    sup = Supervisor(ladder=ladder, ledger=path)
    with sup.store.transaction() as db:
        ledger.rebuild_summary(db)
    counts["templates"] = len(found)
    counts["cases"] = len(cases)
    return counts


def candidate_ladder(directory: Path, ladder: Ladder) -> Ladder:
    """The shipped ladder with sql.write at initial and ceiling 3, written as a file as a platform engineer would."""
    data = yaml.safe_load(LADDER_FILE.read_text())
    data["action_types"]["sql.write"] = {"initial": 3, "ceiling": 3}
    path = directory / "candidate.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_ladder(path)


def timed_simulate(sup: Supervisor, ladder: Ladder, repeat: int) -> tuple[list[float], Any, dict[str, float]]:
    """Seconds of each ``Supervisor.simulate`` run, the last report, and when each stage of the median run began."""
    runs: list[tuple[float, dict[str, float]]] = []
    result = None
    for _ in range(repeat):
        stages: dict[str, float] = {}
        gc.collect()
        start = time.perf_counter()

        def progress(stage: str, done: int, total: int, start: float = start, stages: dict[str, float] = stages) -> None:
            stages.setdefault(stage, time.perf_counter() - start)

        result = sup.simulate(ladder, progress=progress)
        runs.append((time.perf_counter() - start, stages))
    median = sorted(runs, key=lambda run: run[0])[len(runs) // 2]
    return [seconds for seconds, _ in runs], result, {**median[1], "": median[0]}


def naive_baseline(sup: Supervisor, ladder: Ladder, ids: list[str]) -> tuple[float, dict[str, Any]]:
    """Seconds for parse + decide() of each sampled proposal (levels and standing approvals read beforehand, not timed)."""
    with sup.store.transaction() as db:
        rows = read_naive(db, ladder, ids=ids)
    gc.collect()
    start = time.perf_counter()
    decided = decide_each(rows, ladder)
    return time.perf_counter() - start, decided


def vectorised_sample(sup: Supervisor, ladder: Ladder, ids: list[str]) -> dict[str, Any]:
    """The grouped replay's decision for each sampled proposal (group membership read once, not timed)."""
    with sup.store.transaction() as db:
        history = read(db, ladder, members=True)
    wanted = set(ids)
    return {pid: made for group, made in decide_groups(history, ladder) for pid in group["ids"] if pid in wanted}


def stage_split(stages: dict[str, float]) -> str:
    """How long each stage took: from its first report to the next stage's ("" marks the end)."""
    names = list(stages)
    return ", ".join(f"{name} {stages[names[i + 1]] - stages[name]:.1f} s" for i, name in enumerate(names[:-1]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--proposals", type=int, default=1_000_000, help="proposals in the synthetic ledger (default: %(default)s)")
    parser.add_argument("--sample", type=int, default=20_000, help="proposals the naive baseline decides one by one (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each replay; the median is reported (default: %(default)s)")
    parser.add_argument("--keep", type=Path, help="build the ledger here and keep it (default: a temporary directory)")
    args = parser.parse_args(argv)
    if args.proposals < 20_000:
        parser.error("--proposals must be at least 20000: below that the history's sign-offs are not due")
    if not 1 <= args.sample <= args.proposals or args.repeat < 1:
        parser.error("--sample must be between 1 and --proposals, --repeat at least 1")
    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    env = f"Python {platform.python_version()}, duckdb {version('duckdb')}, pydantic {version('pydantic')}, {os.cpu_count()} CPUs, load average {load}"
    print(f"{env}\n")
    ladder = load_ladder(LADDER_FILE)
    with tempfile.TemporaryDirectory(prefix="trustladder-replay-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "ledger.duckdb"
        if path.exists():
            path.unlink()
        # built in a child process, so this one's peak memory is the replay's
        start = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(1) as pool:
            counts = pool.apply(build_ledger, (path, args.proposals, ladder))
        build_s = time.perf_counter() - start
        print(f"## Synthetic ledger: {counts['proposals']:,} proposals from {counts['templates']} classified templates, {counts['outcomes']:,} outcomes, "
              f"{counts['approvals']:,} approval requests, {counts['audit']:,} audit entries; built in {build_s:.1f} s\n")
        sup = Supervisor(ladder=ladder, ledger=path)
        candidate = candidate_ladder(directory, ladder)
        own_s, own, own_stages = timed_simulate(sup, ladder, args.repeat)
        if own.changed:
            sys.exit(f"replay: {own.changed} decisions change under the ledger's own ladder; the replay is wrong")
        cand_s, cand, cand_stages = timed_simulate(sup, candidate, args.repeat)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        step = max(1, args.proposals // args.sample)
        ids = [f"p{i:08d}" for i in range(0, args.proposals, step)][: args.sample]
        naive_s, naive = naive_baseline(sup, candidate, ids)
        fast = vectorised_sample(sup, candidate, ids)
        wrong = [pid for pid in ids if naive[pid].decision is not fast[pid].decision]
        if wrong:
            sys.exit(f"replay: the grouped replay and decide() one by one disagree on {len(wrong)} of {len(ids)} sampled proposals, e.g. {wrong[0]}")
    n = args.proposals
    own_rate, cand_rate = n / statistics.median(own_s), n / statistics.median(cand_s)
    naive_rate = len(ids) / naive_s
    write = next(t for t in cand.by_action_type if t.action_type == "sql.write")
    print(f"## Supervisor.simulate over {n:,} proposals ({args.repeat} runs each; median)\n")
    print(render(["replay", "median (s)", "best (s)", "proposals/s", "decide() calls", "decisions changed"], [
        ["own ladder (trust_ladder.yaml)", f"{statistics.median(own_s):.2f}", f"{min(own_s):.2f}", f"{own_rate:,.0f}", f"{own.signatures:,}", f"{own.changed:,}"],
        ["candidate: sql.write initial/ceiling 3", f"{statistics.median(cand_s):.2f}", f"{min(cand_s):.2f}", f"{cand_rate:,.0f}", f"{cand.signatures:,}", f"{cand.changed:,}"],
        [f"naive: parse + decide() each, {len(ids):,} sampled (baseline)", f"{naive_s:.2f}", "", f"{naive_rate:,.0f}", f"{len(ids):,}", ""],
    ]))
    print(f"\nStages of the median candidate run: {stage_split(cand_stages)}. Peak RSS of this process over the replays: {peak_mb:,.0f} MB.")
    print(f"Candidate: sql.write {write.changed:,} of {write.proposals:,} change ({', '.join(f'{t.before} -> {t.after} {t.count:,}' for t in write.transitions)}); "
          f"needs a human {cand.needs_human_before:.1%} -> {cand.needs_human_after:.1%}; "
          f"{cand.reviewer_load.per_day_before:,.0f} -> {cand.reviewer_load.per_day_after:,.0f} approvals per day.")
    print(f"The naive decisions of the {len(ids):,} sampled proposals equal the grouped replay's.\n")
    ratio = cand_rate / naive_rate
    summary = [
        [f"replay, own ladder, {n:,} proposals", f"{own_rate:,.0f}/s", f"{naive_rate:,.0f}/s (naive, {len(ids):,} sampled)", f"{own_rate / naive_rate:.1f}x",
         f">= {TARGET_PER_S:,}/s", "pass" if own_rate >= TARGET_PER_S else "FAIL"],
        [f"replay, candidate, {n:,} proposals", f"{cand_rate:,.0f}/s", f"{naive_rate:,.0f}/s (naive, {len(ids):,} sampled)", f"{ratio:.1f}x",
         f">= {TARGET_PER_S:,}/s", "pass" if cand_rate >= TARGET_PER_S else "FAIL"],
    ]
    headers = ["measure", "measured", "baseline", "measured / baseline", "target", "result"]
    print("## Results\n")
    print(render(headers, summary))
    print()
    print_summary("replay.py", argv, env, headers, summary)
    print(f"\nThe naive loop would take {n / naive_rate:,.0f} s for all {n:,} proposals; the candidate replay took {statistics.median(cand_s):.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The report's figures, read from the ledger with aggregate SQL in one transaction.

This module reads the ledger with its own SQL, which STYLE reserves to ``ledger.py`` and
``audit.py``: the report only reads, and it needs a dozen aggregates (counts per type and week,
quantiles of waits, grouped rejection reasons) that would make ``ledger.py`` twice as long for
one consumer. Every query aggregates in DuckDB and returns at most a row per action type and
week (or per type and reason), so a report costs a few scans of the ledger, whatever its size,
and nothing proportional to it crosses into Python.

Everything about a proposal (its first decision, its approval request, the votes on it, whether
it was observed) counts when the proposal was created in the range; outcomes, executions,
sampled reviews and level changes count by their own time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

# Naive UTC, as the ledger stores times; "since the beginning" when no --since is given.
_DAWN = datetime(1970, 1, 1)

# The first decision of each proposal (the one it was proposed under), for proposals in the range.
_FIRST = """
    SELECT p.id, p.action_type, p.created_at, d.decision, d.ladder_decision, d.body
    FROM proposals p
    JOIN (SELECT proposal_id, min(seq) AS seq FROM decisions GROUP BY 1) f ON f.proposal_id = p.id
    JOIN decisions d ON d.seq = f.seq
    WHERE p.created_at >= $since AND p.created_at <= $until"""

_PROPOSALS = f"""
    SELECT action_type, date_trunc('week', created_at)::DATE AS week, count(*) AS proposals,
           count(*) FILTER (WHERE ladder_decision = 'require_approval') AS needs_human,
           count(*) FILTER (WHERE ladder_decision = 'deny') AS denied
    FROM ({_FIRST}) GROUP BY ALL"""

# Approval requests of proposals in the range, with the human verdict each got: rejected on a
# reject vote, approved once enough people approved, even when the approval later lapsed unused
# (the request then reads expired, but a human did approve it). "gated": the ladder itself asked
# for a human (in observe mode every write is put to one; those the ladder would have let run are
# not gated). "observed": first decided in observe mode, where the human is compared with the ladder.
_APPROVALS = f"""
    WITH v AS (
        SELECT proposal_id, count(*) FILTER (WHERE verdict = 'approve') AS yes, count(*) FILTER (WHERE verdict = 'reject') AS no
        FROM votes GROUP BY 1),
    a AS (
        SELECT f.action_type, a.state,
               CASE WHEN a.state = 'rejected' OR coalesce(v.no, 0) > 0 THEN 'rejected'
                    WHEN a.state = 'approved' OR coalesce(v.yes, 0) >= a.required THEN 'approved' END AS verdict,
               f.ladder_decision = 'require_approval' AS gated,
               coalesce(json_extract_string(f.body, '$.mode'), 'enforce') = 'observe' AS observed,
               f.ladder_decision IN ('allow', 'notify') AS would_run,
               epoch(a.resolved_at - a.created_at) AS wait_s
        FROM approvals a JOIN ({_FIRST}) f ON f.id = a.proposal_id LEFT JOIN v ON v.proposal_id = a.proposal_id)
    SELECT action_type,
           count(*) AS requested,
           count(*) FILTER (WHERE verdict = 'approved') AS approved,
           count(*) FILTER (WHERE verdict = 'rejected') AS rejected,
           count(*) FILTER (WHERE state = 'expired' AND verdict IS NULL) AS expired,
           count(*) FILTER (WHERE state = 'expired' AND verdict = 'approved') AS lapsed,
           count(*) FILTER (WHERE state = 'pending') AS pending,
           count(*) FILTER (WHERE gated AND verdict = 'approved') AS gated_approved,
           count(*) FILTER (WHERE gated AND verdict = 'rejected') AS gated_rejected,
           count(verdict) AS decided,
           quantile_cont(wait_s, 0.5) FILTER (WHERE verdict IS NOT NULL) AS wait_p50_s,
           quantile_cont(wait_s, 0.95) FILTER (WHERE verdict IS NOT NULL) AS wait_p95_s,
           count(*) FILTER (WHERE observed AND verdict IS NOT NULL) AS observed,
           count(*) FILTER (WHERE observed AND ((would_run AND verdict = 'approved') OR (NOT would_run AND verdict = 'rejected'))) AS agreed,
           count(*) FILTER (WHERE observed AND would_run AND verdict = 'rejected') AS ran_what_human_rejected,
           count(*) FILTER (WHERE observed AND NOT would_run AND verdict = 'approved') AS gated_what_human_approved
    FROM a GROUP BY GROUPING SETS ((action_type), ())"""

_REJECTIONS = """
    SELECT action_type, reason, n, sum(n) OVER (PARTITION BY action_type) AS total
    FROM (SELECT p.action_type, coalesce(nullif(trim(v.reason), ''), '(no reason given)') AS reason, count(*) AS n
          FROM votes v JOIN proposals p ON p.id = v.proposal_id
          WHERE v.verdict = 'reject' AND p.created_at >= $since AND p.created_at <= $until
          GROUP BY ALL)
    QUALIFY row_number() OVER (PARTITION BY action_type ORDER BY n DESC, reason) <= $top
    ORDER BY action_type, n DESC, reason"""

# Outcomes a later one replaced (a success that turned out to be an incident) do not count, as
# for the ladder itself.
_OUTCOMES = """
    SELECT action_type, date_trunc('week', recorded_at)::DATE AS week, outcome, count(*) AS n
    FROM outcomes WHERE NOT superseded AND recorded_at >= $since AND recorded_at <= $until GROUP BY ALL"""

_EXECUTIONS = """
    SELECT p.action_type, date_trunc('week', e.executed_at)::DATE AS week, count(*) AS n
    FROM executions e JOIN proposals p ON p.id = e.proposal_id
    WHERE e.executed_at >= $since AND e.executed_at <= $until GROUP BY ALL"""

_REVIEWS = """
    SELECT action_type, count(*) AS sampled, count(verdict) AS reviewed,
           count(*) FILTER (WHERE verdict = 'bad') AS bad, count(*) FILTER (WHERE verdict = 'good') AS good
    FROM reviews WHERE sampled_at >= $since AND sampled_at <= $until GROUP BY 1"""

# The latest dangerous disagreements of observe mode: the ladder would have run what a human rejected.
_DISAGREEMENTS = f"""
    SELECT f.id AS proposal_id, f.action_type, f.created_at, p.agent,
           json_extract_string(p.proposal, '$.reason') AS reason, json_extract_string(p.assessment, '$.summary') AS summary,
           f.ladder_decision, v.rejected_by, v.rejection
    FROM approvals a JOIN ({_FIRST}) f ON f.id = a.proposal_id JOIN proposals p ON p.id = a.proposal_id
    JOIN (SELECT proposal_id, arg_max(voter, voted_at) AS rejected_by, arg_max(reason, voted_at) AS rejection FROM votes WHERE verdict = 'reject' GROUP BY 1) v ON v.proposal_id = a.proposal_id
    WHERE f.ladder_decision IN ('allow', 'notify')
      AND coalesce(json_extract_string(f.body, '$.mode'), 'enforce') = 'observe'
    ORDER BY f.created_at DESC, f.id LIMIT $limit"""

_LEVEL_CHANGES = """
    SELECT seq, action_type, from_level, to_level, reason, evidence, actor, changed_at
    FROM level_changes WHERE changed_at <= $until ORDER BY seq"""


@dataclass
class Figures:
    """What the ledger says, aggregated: rows of plain values, times as aware UTC."""

    proposals: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    level_changes: list[dict[str, Any]] = field(default_factory=list)
    first_proposed: dict[str, datetime] = field(default_factory=dict)


def gather(db: duckdb.DuckDBPyConnection, *, since: datetime | None, until: datetime, top_reasons: int = 5, examples: int = 10) -> Figures:
    """Read the report's aggregates inside one ledger transaction.

    Args:
        db: a connection inside a ledger transaction.
        since: the start of the range (aware), or None for the whole ledger.
        until: the end of the range (aware): the report's ``now``.
        top_reasons: how many rejection reasons to keep per action type.
        examples: how many dangerous observe-mode disagreements to list.

    Returns:
        The figures, each query's rows as dicts.
    """
    bounds = {"since": _naive(since) if since else _DAWN, "until": _naive(until)}
    level_changes = _rows(db, _LEVEL_CHANGES, {"until": bounds["until"]})
    for row in level_changes:
        row["changed_at"] = _utc(row["changed_at"])
    disagreements = _rows(db, _DISAGREEMENTS, {**bounds, "limit": examples})
    for row in disagreements:
        row["created_at"] = _utc(row["created_at"])
    return Figures(
        proposals=_rows(db, _PROPOSALS, bounds),
        approvals=_rows(db, _APPROVALS, bounds),
        rejections=_rows(db, _REJECTIONS, {**bounds, "top": top_reasons}),
        outcomes=_rows(db, _OUTCOMES, bounds),
        executions=_rows(db, _EXECUTIONS, bounds),
        reviews=_rows(db, _REVIEWS, bounds),
        disagreements=disagreements,
        level_changes=level_changes,
        first_proposed={name: _utc(at) for name, at in db.execute("SELECT action_type, first_proposed FROM action_types").fetchall()},
    )


def _rows(db: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [column[0] for column in cursor.description or ()]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)

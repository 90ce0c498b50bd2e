"""The demo's figures, read back from the ledger it wrote, never from the simulation's own counters.

Weeks are counted from the demo's start (Monday 00:00 UTC): a proposal belongs to the week it was
made in, an outcome or a level change to the week it was recorded in.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from supervisor.models import Model
from supervisor.service import Supervisor
from supervisor.store import rows

_WEEK_SECONDS = 7 * 24 * 3600


class LevelChangeRow(Model):
    """One level change, with the evidence the ledger stored for it."""

    week: int = Field(description="The week it happened in, 1 for the first.")
    at: datetime = Field(description="When (UTC).")
    action_type: str = Field(description="The action type.")
    from_level: int = Field(description="The level before.")
    to_level: int = Field(description="The level after.")
    reason: str = Field(description="promotion, error_rate, incident, rolled_back, violation or manual.")
    actor: str | None = Field(description="Who signed it off; None when the ladder's own rules made it.")
    message: str = Field(description="The change and its evidence, in words.")


class WeekRow(Model):
    """One simulated week, counted from the ledger."""

    week: int = Field(description="1 for the first week.")
    start: str = Field(description="Its Monday (UTC date).")
    proposals: int = Field(description="Proposals made that week.")
    needs_human: int = Field(description="Of those, decided require_approval when proposed.")
    needs_human_share: float | None = Field(description="needs_human / proposals.")
    ran_without_human: int = Field(description="Decided allow or notify, and executed.")
    approved: int = Field(description="Approval requests of that week's proposals that ended approved.")
    rejected: int = Field(description="... that ended rejected.")
    expired: int = Field(description="... that expired (timed out with nowhere to escalate, or destructive).")
    escalated: int = Field(description="... that timed out and moved to the next group at least once.")
    failures: int = Field(description="Failure outcomes recorded that week.")
    incidents: int = Field(description="Incident outcomes recorded that week.")
    level_changes: tuple[str, ...] = Field(description="Level changes that week, e.g. 'sql.write 1->2'.")


class DestructiveCheck(Model):
    """Destructive proposals and their executions, joined from the ledger's tables."""

    proposed: int = Field(description="Proposals whose assessment is destructive.")
    approved: int = Field(description="Of those, approved by a human.")
    rejected: int = Field(description="... rejected.")
    expired: int = Field(description="... expired unanswered.")
    executed: int = Field(description="... executed.")
    executed_without_approval: int = Field(description="Executed with no approved request and no human's approving vote: must be 0.")


class PendingRow(Model):
    """A proposal the demo left waiting for a human."""

    proposal_id: str = Field(description="Its id.")
    action_type: str = Field(description="Its action type.")
    expires_at: datetime = Field(description="When its request times out (then tick escalates or expires it).")
    summary: str = Field(description="What it does, in one line.")


class DemoReport(Model):
    """What ``trustladder demo`` prints (and ``--json`` emits)."""

    seed: int = Field(description="The random seed played.")
    weeks: int = Field(description="How many weeks were played.")
    start: str = Field(description="Monday of the first week (UTC date).")
    ledger: str = Field(description="The ledger file.")
    warehouse: str = Field(description="The demo warehouse file.")
    warehouse_rows: dict[str, int] = Field(description="Rows per demo table at the end.")
    by_week: tuple[WeekRow, ...] = Field(description="Week by week.")
    level_changes: tuple[LevelChangeRow, ...] = Field(description="Every level change, oldest first.")
    needs_human_weeks_1_2: float | None = Field(description="Share of weeks 1-2's proposals that needed a human.")
    needs_human_after_week_4: float | None = Field(description="Share of the proposals after week 4 that needed a human.")
    promoted: tuple[str, ...] = Field(description="Action types promoted at least once.")
    demotions: tuple[LevelChangeRow, ...] = Field(description="Every demotion.")
    final_levels: dict[str, int] = Field(description="The level of every type that changed level, at the end.")
    destructive: DestructiveCheck = Field(description="The destructive-execution check.")
    refused_at_gate: int = Field(description="Executions the gate refused when they came to run (decided before a demotion).")
    audit_ok: bool = Field(description="Whether the audit chain verifies.")
    audit_entries: int = Field(description="Entries in the audit chain.")
    pending: tuple[PendingRow, ...] = Field(description="Proposals left waiting for a human.")
    elapsed_s: float = Field(description="Wall time of the run, seconds.")
    next_commands: tuple[str, ...] = Field(description="What to try next.")


def read_figures(sup: Supervisor, *, start: datetime, weeks: int) -> tuple[list[WeekRow], list[LevelChangeRow], DestructiveCheck, int]:
    """Count each week, list level changes and check destructive executions, from the ledger.

    Args:
        sup: the facade on the demo's ledger.
        start: Monday 00:00 UTC of the first week.
        weeks: how many weeks were played.

    Returns:
        The week rows, the level changes, the destructive check and how many executions the gate refused.
    """
    begin = start.replace(tzinfo=None)
    with sup.store.transaction() as db:
        counted = {row["week"]: row for row in rows(db, _WEEKS, [begin, _WEEK_SECONDS, begin, begin + timedelta(weeks=weeks)])}
        outcomes = {row["week"]: row for row in rows(db, _OUTCOMES, [begin, _WEEK_SECONDS, begin, begin + timedelta(weeks=weeks)])}
        changes = [_change(row, begin) for row in rows(db, "SELECT * FROM level_changes ORDER BY seq")]
        [check] = rows(db, _DESTRUCTIVE)
        [(refused,)] = db.execute("SELECT count(*) FROM audit WHERE event IN ('execution.refused', 'policy.violation')").fetchall()
    by_week = []
    for week in range(1, weeks + 1):
        found, failed = counted.get(week, {}), outcomes.get(week, {})
        proposals, needs = int(found.get("proposals") or 0), int(found.get("needs_human") or 0)
        by_week.append(
            WeekRow(
                week=week,
                start=(start + timedelta(weeks=week - 1)).date().isoformat(),
                proposals=proposals,
                needs_human=needs,
                needs_human_share=needs / proposals if proposals else None,
                ran_without_human=int(found.get("ran_without_human") or 0),
                approved=int(found.get("approved") or 0),
                rejected=int(found.get("rejected") or 0),
                expired=int(found.get("expired") or 0),
                escalated=int(found.get("escalated") or 0),
                failures=int(failed.get("failures") or 0),
                incidents=int(failed.get("incidents") or 0),
                level_changes=tuple(f"{c.action_type} {c.from_level}->{c.to_level}" for c in changes if c.week == week),
            )
        )
    return by_week, changes, DestructiveCheck(**{key: int(value or 0) for key, value in check.items()}), int(refused)


def share(weeks: list[WeekRow], first: int, last: int) -> float | None:
    """The share of proposals that needed a human over weeks ``first`` to ``last`` (inclusive)."""
    chosen = [row for row in weeks if first <= row.week <= last]
    total = sum(row.proposals for row in chosen)
    return sum(row.needs_human for row in chosen) / total if total else None


# A proposal's first decision is the one it was proposed with; executions are counted once each.
_WEEKS = """
    WITH first_decision AS (SELECT proposal_id, arg_min(decision, seq) AS decision FROM decisions GROUP BY 1),
         executed AS (SELECT DISTINCT proposal_id FROM executions)
    SELECT date_diff('second', ?::TIMESTAMP, p.created_at) // ? + 1 AS week,
           count(*) AS proposals,
           count(*) FILTER (WHERE d.decision = 'require_approval') AS needs_human,
           count(*) FILTER (WHERE d.decision IN ('allow', 'notify') AND e.proposal_id IS NOT NULL) AS ran_without_human,
           count(*) FILTER (WHERE a.state = 'approved') AS approved,
           count(*) FILTER (WHERE a.state = 'rejected') AS rejected,
           count(*) FILTER (WHERE a.state = 'expired') AS expired,
           count(*) FILTER (WHERE a.escalations > 0) AS escalated
    FROM proposals p JOIN first_decision d ON d.proposal_id = p.id
         LEFT JOIN approvals a ON a.proposal_id = p.id LEFT JOIN executed e ON e.proposal_id = p.id
    WHERE p.created_at >= ? AND p.created_at < ?
    GROUP BY 1"""

_OUTCOMES = """
    SELECT date_diff('second', ?::TIMESTAMP, recorded_at) // ? + 1 AS week,
           count(*) FILTER (WHERE outcome = 'failure') AS failures,
           count(*) FILTER (WHERE outcome = 'incident') AS incidents
    FROM outcomes WHERE recorded_at >= ? AND recorded_at < ? GROUP BY 1"""

# Every execution of a destructive proposal must have an approved request with a human's approving
# vote; the agent that proposed it can never cast one (supervisor.approvals.cast_vote).
_DESTRUCTIVE = """
    WITH destructive AS (SELECT id, agent FROM proposals WHERE CAST(json_extract(assessment, '$.destructive') AS BOOLEAN)),
         executed AS (SELECT DISTINCT proposal_id FROM executions)
    SELECT count(*) AS proposed,
           count(*) FILTER (WHERE a.state = 'approved') AS approved,
           count(*) FILTER (WHERE a.state = 'rejected') AS rejected,
           count(*) FILTER (WHERE a.state = 'expired') AS expired,
           count(e.proposal_id) AS executed,
           count(e.proposal_id) FILTER (
               WHERE a.state IS DISTINCT FROM 'approved'
                  OR NOT EXISTS (SELECT 1 FROM votes v WHERE v.proposal_id = d.id AND v.verdict = 'approve' AND v.voter IS DISTINCT FROM d.agent)
           ) AS executed_without_approval
    FROM destructive d LEFT JOIN approvals a ON a.proposal_id = d.id LEFT JOIN executed e ON e.proposal_id = d.id"""


def _change(row: dict[str, Any], begin: datetime) -> LevelChangeRow:
    evidence = json.loads(row["evidence"]) if isinstance(row["evidence"], str) else dict(row["evidence"])
    week = int((row["changed_at"] - begin).total_seconds() // _WEEK_SECONDS) + 1
    return LevelChangeRow(
        week=week,
        at=row["changed_at"],
        action_type=row["action_type"],
        from_level=row["from_level"],
        to_level=row["to_level"],
        reason=row["reason"],
        actor=row["actor"],
        message=_explain(row, evidence),
    )


def _explain(row: dict[str, Any], evidence: dict[str, Any]) -> str:
    """The change and its evidence in words, from what the ledger stored with it."""
    at_level = evidence.get("outcomes_at_level")
    level = row["from_level"]
    if row["reason"] == "promotion":
        who = f"signed off by {row['actor']}" if row["actor"] else "automatic"
        upper = evidence.get("error_rate_upper")
        bound = f", error-rate upper bound {upper:.3f}" if isinstance(upper, int | float) else ""
        return f"{who}: {at_level} outcomes at level {level}, {evidence.get('errors_at_level', 0)} errors{bound}"
    if row["reason"] == "error_rate":
        return f"the ladder's error-rate rule: {evidence.get('window_errors')} errors in the last {evidence.get('window')} outcomes at level {level}"
    if row["reason"] in ("incident", "rolled_back"):
        return f"the ladder's {row['reason'].replace('_', ' ')} rule: one {row['reason'].replace('_', ' ')} at level {level} drops a level at once"
    by = f" by {row['actor']}" if row["actor"] else ""
    return f"{row['reason']}{by}"

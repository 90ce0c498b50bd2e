"""The outcome ledger: proposals, decisions, approvals, executions, outcomes and level changes.

Every function takes a connection inside a ``Store.transaction()`` and does one thing; the
facade in ``supervisor.service`` strings them together so that an operation and its audit
entry commit together or not at all. Times are stored as naive UTC.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import duckdb
from pydantic import Field

from supervisor.approvals import ApprovalRequest, ApprovalState, Vote
from supervisor.models import Assessment, Model, Outcome, PolicyDecision, Proposal
from supervisor.promotion import Evidence, LevelChange
from supervisor.review import SampledReview
from supervisor.standing import StandingApproval
from supervisor.store import rows


class StoredProposal(Model):
    """A proposal as the ledger holds it, with its latest decision."""

    schema_version: int = Field(default=1, description="Version of this record's shape.")
    proposal_id: str = Field(description="The proposal's id.")
    created_at: datetime = Field(description="When it was proposed.")
    proposal: Proposal = Field(description="What the agent proposed.")
    assessment: Assessment = Field(description="What the classifiers found, kept so it can be re-decided without re-parsing.")
    decision: PolicyDecision = Field(description="The latest decision.")


# "Since the beginning", for a type that was never proposed and never changed level.
_DAWN = datetime(1, 1, 1)


def utc(value: datetime) -> datetime:
    """A stored naive-UTC time as a timezone-aware one."""
    return value.replace(tzinfo=UTC)


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


class TypeState(NamedTuple):
    """What a new proposal of a type is decided and recorded on."""

    level: int | None  # the latest recorded level; None if the type never changed level
    first_proposed: datetime | None  # None if the type was never proposed
    standing: list[StandingApproval]  # the standing approvals in force


def type_state(db: duckdb.DuckDBPyConnection, action_type: str, *, now: datetime) -> TypeState:
    """What a new proposal of a type is decided on, in one read."""
    row = db.execute(
        """SELECT (SELECT arg_max(to_level, seq) FROM level_changes WHERE action_type = $1),
                  (SELECT first_proposed FROM action_types WHERE action_type = $1),
                  (SELECT list(body ORDER BY granted_at, id) FROM standing_approvals
                   WHERE revoked_at IS NULL AND granted_at <= $2 AND expires_at > $2)""",
        [action_type, _naive(now)],
    ).fetchone()
    assert row is not None  # a SELECT without FROM returns one row
    level, first, standing = row
    return TypeState(level, first, [StandingApproval.model_validate_json(body) for body in standing or ()])


def insert_proposal(
    db: duckdb.DuckDBPyConnection,
    *,
    proposal_id: str,
    proposal: Proposal,
    assessment: Assessment,
    decision: PolicyDecision,
    now: datetime,
    first_proposed: datetime | None = None,
) -> None:
    """Record a proposal and its first decision.

    Args:
        db: a connection inside a ledger transaction.
        proposal_id: the new proposal's id.
        proposal: what the agent proposed.
        assessment: what the classifiers found.
        decision: its decision.
        now: when it was proposed.
        first_proposed: when its type was first proposed, as ``type_state`` read it in this
            transaction; the summary's ``action_types`` row is then written only when this
            proposal is earlier. None writes it whenever it is not known to be later.
    """
    db.execute(
        "INSERT INTO proposals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            proposal_id,
            _naive(now),
            proposal.agent,
            proposal.team,
            assessment.action_type,
            decision.proposal_hash,
            proposal.model_dump_json(),
            assessment.model_dump_json(),
        ],
    )
    db.execute("INSERT INTO open_proposals VALUES (?, ?)", [proposal_id, _naive(now)])
    if first_proposed is None or _naive(now) < first_proposed:
        db.execute(
            """INSERT INTO action_types VALUES (?, ?)
               ON CONFLICT DO UPDATE SET first_proposed = excluded.first_proposed WHERE excluded.first_proposed < action_types.first_proposed""",
            [assessment.action_type, _naive(now)],
        )
    insert_decision(db, proposal_id=proposal_id, decision=decision, now=now)


def insert_decision(db: duckdb.DuckDBPyConnection, *, proposal_id: str, decision: PolicyDecision, now: datetime) -> None:
    """Record a (re-)decision of a proposal."""
    db.execute(
        "INSERT INTO decisions SELECT coalesce(max(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ? FROM decisions",
        [
            proposal_id,
            _naive(now),
            decision.decision.value,
            decision.ladder_decision.value,
            decision.level,
            decision.policy_version,
            decision.model_dump_json(),
        ],
    )


def get_proposal(db: duckdb.DuckDBPyConnection, proposal_id: str) -> StoredProposal | None:
    """A proposal with its latest decision, or None."""
    found = rows(
        db,
        """SELECT p.id, p.created_at, p.proposal, p.assessment, d.body
           FROM proposals p JOIN decisions d ON d.proposal_id = p.id
           WHERE p.id = ? ORDER BY d.seq DESC LIMIT 1""",
        [proposal_id],
    )
    return _stored(found[0]) if found else None


def get_proposals(db: duckdb.DuckDBPyConnection, proposal_ids: list[str]) -> dict[str, StoredProposal]:
    """Proposals with their latest decisions, by id, in one read; ids not in the ledger are left out."""
    if not proposal_ids:
        return {}
    found = rows(
        db,
        """SELECT p.id, p.created_at, p.proposal, p.assessment, d.body
           FROM proposals p JOIN decisions d ON d.proposal_id = p.id
           WHERE p.id IN (SELECT unnest($ids)) AND d.proposal_id IN (SELECT unnest($ids))
           QUALIFY row_number() OVER (PARTITION BY p.id ORDER BY d.seq DESC) = 1""",
        {"ids": proposal_ids},
    )
    return {row["id"]: _stored(row) for row in found}


def _stored(row: dict[str, Any]) -> StoredProposal:
    return StoredProposal(
        proposal_id=row["id"],
        created_at=utc(row["created_at"]),
        proposal=Proposal.model_validate_json(row["proposal"]),
        assessment=Assessment.model_validate_json(row["assessment"]),
        decision=PolicyDecision.model_validate_json(row["body"]),
    )


def proposals_since(db: duckdb.DuckDBPyConnection, since: datetime | None) -> list[StoredProposal]:
    """Every stored proposal (optionally from a date on), oldest first, with its first decision."""
    found = rows(
        db,
        """SELECT p.id, p.created_at, p.proposal, p.assessment, d.body
           FROM proposals p JOIN decisions d ON d.proposal_id = p.id
           WHERE p.created_at >= ?
           QUALIFY row_number() OVER (PARTITION BY p.id ORDER BY d.seq) = 1
           ORDER BY p.created_at, p.id""",
        [_naive(since) if since else datetime(1970, 1, 1)],
    )
    return [_stored(row) for row in found]


def insert_approval(db: duckdb.DuckDBPyConnection, request: ApprovalRequest) -> None:
    """Record a new approval request."""
    db.execute("INSERT INTO approvals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(_approval_row(request)))


def save_approval(db: duckdb.DuckDBPyConnection, request: ApprovalRequest, *, new_vote: Vote | None = None) -> None:
    """Update an approval request (or insert it), and append a vote if one was cast."""
    # A delete and an insert: DuckDB runs INSERT OR REPLACE on a keyed table at about twice their cost.
    db.execute("DELETE FROM approvals WHERE proposal_id = ?", [request.proposal_id])
    insert_approval(db, request)
    if new_vote is not None:
        db.execute(
            "INSERT INTO votes VALUES (?, ?, ?, ?, ?)",
            [request.proposal_id, new_vote.voter, new_vote.verdict, new_vote.reason, _naive(new_vote.at)],
        )


def save_approvals(db: duckdb.DuckDBPyConnection, requests: Sequence[ApprovalRequest]) -> None:
    """Update many approval requests in two statements, however many there are (a tick after an outage)."""
    if not requests:
        return
    db.execute("DELETE FROM approvals WHERE proposal_id IN (SELECT unnest($ids))", {"ids": [request.proposal_id for request in requests]})
    columns = [list(column) for column in zip(*(_approval_row(request) for request in requests))]
    db.execute(f"INSERT INTO approvals SELECT {', '.join(f'unnest(${i})' for i in range(1, len(columns) + 1))}", columns)


def _approval_row(request: ApprovalRequest) -> tuple[Any, ...]:
    """An approval request as an ``approvals`` row."""
    return (
        request.proposal_id,
        request.state.value,
        request.group,
        request.required,
        request.destructive,
        request.proposal_hash,
        request.policy_version,
        _naive(request.created_at),
        _naive(request.expires_at),
        request.escalations,
        _naive(request.resolved_at) if request.resolved_at else None,
        request.resolved_by,
        request.note,
    )


def get_approval(db: duckdb.DuckDBPyConnection, proposal_id: str) -> ApprovalRequest | None:
    """The approval request of a proposal, with its votes, or None."""
    found = _approvals(db, "SELECT * FROM approvals WHERE proposal_id = ?", [proposal_id])
    return found[0] if found else None


def approvals_in_state(db: duckdb.DuckDBPyConnection, state: ApprovalState) -> list[ApprovalRequest]:
    """Every request in a state, oldest first."""
    return _approvals(db, "SELECT * FROM approvals WHERE state = ? ORDER BY created_at, proposal_id", [state.value])


def _approvals(db: duckdb.DuckDBPyConnection, query: str, params: list[Any]) -> list[ApprovalRequest]:
    """The requests a query over ``approvals`` selects, in its order, with their votes: two reads however many there are."""
    found = rows(db, query, params)
    votes: dict[str, list[Vote]] = {}
    if found:
        for proposal_id, voter, verdict, reason, at in db.execute(
            "SELECT proposal_id, voter, verdict, reason, voted_at FROM votes WHERE proposal_id IN (SELECT unnest($ids)) ORDER BY voted_at",
            {"ids": [row["proposal_id"] for row in found]},
        ).fetchall():
            votes.setdefault(proposal_id, []).append(Vote(voter=voter, verdict=verdict, reason=reason, at=utc(at)))
    return [_approval(row, votes.get(row["proposal_id"], ())) for row in found]


def _approval(row: dict[str, Any], votes: Sequence[Vote]) -> ApprovalRequest:
    return ApprovalRequest(
        proposal_id=row["proposal_id"],
        state=ApprovalState(row["state"]),
        group=row["route_group"],
        required=row["required"],
        destructive=row["destructive"],
        proposal_hash=row["proposal_hash"],
        policy_version=row["policy_version"],
        created_at=utc(row["created_at"]),
        expires_at=utc(row["expires_at"]),
        escalations=row["escalations"],
        resolved_at=utc(row["resolved_at"]) if row["resolved_at"] else None,
        resolved_by=row["resolved_by"],
        note=row["note"],
        votes=tuple(votes),
    )


def insert_execution(db: duckdb.DuckDBPyConnection, *, proposal_id: str, actor: str | None, decision: PolicyDecision, now: datetime) -> int:
    """Record that a proposal was cleared to run; returns the execution's sequence number."""
    [(seq,)] = db.execute(
        "INSERT INTO executions SELECT coalesce(max(seq), 0) + 1, ?, ?, ?, ?, ?, ? FROM executions RETURNING seq",
        [proposal_id, _naive(now), actor, decision.proposal_hash, decision.policy_version, decision.decision.value],
    ).fetchall()
    _settle(db, proposal_id)
    return int(seq)


def _settle(db: duckdb.DuckDBPyConnection, proposal_id: str) -> None:
    """A proposal launched, executed or given an outcome is no longer one the gate may hand out."""
    db.execute("DELETE FROM open_proposals WHERE proposal_id = ?", [proposal_id])


def executions_of(db: duckdb.DuckDBPyConnection, proposal_id: str) -> int:
    """How many times a proposal was cleared to run."""
    row = db.execute("SELECT count(*) FROM executions WHERE proposal_id = ?", [proposal_id]).fetchone()
    return int(row[0]) if row else 0


def outcomes_of(db: duckdb.DuckDBPyConnection, proposal_id: str) -> list[dict[str, Any]]:
    """The outcomes recorded for a proposal, oldest first."""
    return rows(db, "SELECT seq, outcome, level, note, actor, recorded_at, superseded FROM outcomes WHERE proposal_id = ? ORDER BY seq", [proposal_id])


def insert_outcome(
    db: duckdb.DuckDBPyConnection, *, proposal_id: str, action_type: str, level: int, outcome: Outcome, note: str | None, actor: str | None, now: datetime
) -> int:
    """Record an outcome, superseding earlier ones of the same proposal; returns its sequence number.

    The summary ``evidence`` reads (``outcome_counts``) changes in the same transaction.
    """
    superseded = db.execute(
        "UPDATE outcomes SET superseded = true WHERE proposal_id = ? AND NOT superseded RETURNING action_type, level, outcome, date_trunc('month', recorded_at)::DATE",
        [proposal_id],
    ).fetchall()
    for key in superseded:
        db.execute("UPDATE outcome_counts SET n = n - 1 WHERE action_type = ? AND level = ? AND outcome = ? AND month = ?", list(key))
    [(seq, month)] = db.execute(
        "INSERT INTO outcomes SELECT coalesce(max(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ?, false FROM outcomes RETURNING seq, date_trunc('month', recorded_at)::DATE",
        [proposal_id, action_type, level, outcome.value, note, actor, _naive(now)],
    ).fetchall()
    db.execute(
        """INSERT INTO outcome_counts VALUES (?, ?, ?, ?, 1, ?, ?, ?)
           ON CONFLICT DO UPDATE SET n = n + 1, first_seq = least(first_seq, excluded.first_seq),
                                     last_seq = greatest(last_seq, excluded.last_seq), first_at = least(first_at, excluded.first_at)""",
        [action_type, level, outcome.value, month, seq, seq, _naive(now)],
    )
    _settle(db, proposal_id)
    return int(seq)


def insert_level_change(db: duckdb.DuckDBPyConnection, change: LevelChange, *, actor: str | None, policy_version: str, now: datetime) -> int:
    """Record a level change and its evidence; returns its sequence number."""
    [(seq,)] = db.execute(
        "INSERT INTO level_changes SELECT coalesce(max(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ? FROM level_changes RETURNING seq",
        [change.action_type, change.from_level, change.to_level, change.reason, json.dumps(change.evidence, default=str), actor, _naive(now), policy_version],
    ).fetchall()
    return int(seq)


def level_history(db: duckdb.DuckDBPyConnection, action_type: str | None = None) -> list[dict[str, Any]]:
    """Level changes, oldest first, optionally of one type."""
    where, params = ("WHERE action_type = ?", [action_type]) if action_type else ("", [])
    return rows(db, f"SELECT seq, action_type, from_level, to_level, reason, evidence, actor, changed_at, policy_version FROM level_changes {where} ORDER BY seq", params)


def evidence(db: duckdb.DuckDBPyConnection, initial: dict[str, int], *, window: int, action_type: str | None = None) -> dict[str, Evidence]:
    """The evidence of every action type seen in the ledger (or of one), from the summary and the latest outcomes.

    The counts come from ``outcome_counts``, whose rows are per type, level, outcome and month,
    so the outcomes at a type's level since it reached it are the months after that moment plus
    the rows of that one month at or after it, which is all of that month's rows at the level
    unless some came before the level did (the summary keeps each month's earliest time; only
    then is that month read from ``outcomes``, by its range of sequence numbers). The type's latest ``window`` outcomes at its level are read from the
    tail of ``outcomes``, by sequence number, so a recompute does not grow with the ledger.

    Args:
        db: a connection inside a ledger transaction.
        initial: each configured type's initial level, for types that never changed level; every
            configured type is included even when the ledger has never seen it.
        window: how many recent outcomes at the current level to return per type.
        action_type: only this type.

    Returns:
        Evidence keyed by action type.
    """
    only, params = ("WHERE action_type = ?", [action_type]) if action_type else ("", [])
    current: dict[str, tuple[int, datetime]] = {}
    first_seen: dict[str, datetime] = {}
    for row in rows(
        db,
        f"""SELECT action_type, arg_max(to_level, seq) AS level, max(changed_at) AS at FROM level_changes {only} GROUP BY 1
            UNION ALL SELECT action_type, NULL, first_proposed FROM action_types {only}""",
        params * 2,
    ):
        if row["level"] is None:
            first_seen[row["action_type"]] = row["at"]
        else:
            current[row["action_type"]] = (row["level"], row["at"])
    types = sorted(set(first_seen) | set(current) | ({action_type} if action_type else set(initial)))
    if not types:
        return {}
    state = {t: current[t] if t in current else (initial.get(t, 1), first_seen.get(t)) for t in types}
    # The summary is small (a row per type, level, outcome and month) and DuckDB takes longer to
    # plan a query that would fold it per type than to return it, so it is folded here.
    totals: dict[tuple[str, str], int] = {}
    at_level: dict[str, int] = {}
    errors: dict[str, int] = {}
    boundary: dict[str, list[tuple[Any, ...]]] = {}
    top = 0
    for name, level, outcome, month, n, first_seq, last_seq, first_at in db.execute(
        f"SELECT action_type, level, outcome, month, n, first_seq, last_seq, first_at FROM outcome_counts {only or 'WHERE true'} AND n > 0", params
    ).fetchall():
        if name not in state:  # no proposal or level change names this type: it is not tracked
            continue
        top = max(top, last_seq)
        totals[name, outcome] = totals.get((name, outcome), 0) + n
        current, since = state[name]
        start = (since or _DAWN).date().replace(day=1)
        if level != current or month < start:
            continue
        if month > start:
            at_level[name] = at_level.get(name, 0) + n
            errors[name] = errors.get(name, 0) + (outcome != "success") * n
        else:
            boundary.setdefault(name, []).append((n, outcome, first_seq, last_seq, first_at))
    # The month a type reached its level: all of that month's rows at the level count when none
    # came before the level did, the usual case; otherwise that month's rows are read, by its
    # range of sequence numbers.
    exact: dict[date, list[str]] = {}
    for name, buckets in boundary.items():
        since = state[name][1] or _DAWN
        if all(first_at >= since for *_, first_at in buckets):
            at_level[name] = at_level.get(name, 0) + sum(n for n, *_ in buckets)
            errors[name] = errors.get(name, 0) + sum(n for n, outcome, *_ in buckets if outcome != "success")
        else:
            exact.setdefault(since.date().replace(day=1), []).append(name)
    if exact:
        branches, values = [], []
        for month, names in exact.items():
            branches.append(
                f"""SELECT o.action_type, count(*) AS n, count(*) FILTER (WHERE o.outcome <> 'success') AS errors
                    FROM outcomes o JOIN ({_STATE}) s ON o.action_type = s.action_type AND o.level = s.level AND o.recorded_at >= s.since
                    WHERE o.seq BETWEEN ? AND ? AND NOT o.superseded AND date_trunc('month', o.recorded_at)::DATE = ? GROUP BY 1"""
            )
            spans = [bucket for name in names for bucket in boundary[name]]
            values += [*_state_params(names, state), min(b[2] for b in spans), max(b[3] for b in spans), month]
        for row in rows(db, " UNION ALL ".join(branches), values):
            at_level[row["action_type"]] = at_level.get(row["action_type"], 0) + row["n"]
            errors[row["action_type"]] = errors.get(row["action_type"], 0) + row["errors"]
    recent = _recent(db, state, {name: min(window, n) for name, n in at_level.items() if n}, window=window, top=top)
    result = {}
    for name in types:
        level, since = state[name]
        result[name] = Evidence(
            action_type=name,
            level=level,
            since=utc(since) if since else None,
            outcomes_at_level=at_level.get(name, 0),
            errors_at_level=errors.get(name, 0),
            recent=tuple(reversed(recent.get(name, ()))),
            successes=totals.get((name, "success"), 0),
            failures=totals.get((name, "failure"), 0),
            incidents=totals.get((name, "incident"), 0),
            rolled_back=totals.get((name, "rolled_back"), 0),
        )
    return result


_STATE = "SELECT unnest(?::VARCHAR[]) AS action_type, unnest(?::INTEGER[]) AS level, unnest(?::TIMESTAMP[]) AS since"


def _recent(db: duckdb.DuckDBPyConnection, state: dict[str, tuple[int, datetime | None]], need: dict[str, int], *, window: int, top: int) -> dict[str, list[bool]]:
    """Whether each of the latest outcomes of each type at its level since it reached it was an error, newest first.

    The latest outcomes are the last rows written, so the tail of the table above ``top - depth``
    holds them and a filter on seq lets DuckDB skip every older row group. The tail grows
    sixteenfold until each type has the ``need`` outcomes the summary counted. The tail is grouped
    by type and level alone; a type whose group there holds rows from before it reached its level
    (it was at this level before, not long ago) is read again with that moment as a filter.
    """
    recent: dict[str, list[bool]] = {}
    depth = window * 64
    while need:
        whole = top - depth <= 0
        groups = {
            (row["action_type"], row["level"]): row
            for row in rows(
                db,
                f"""SELECT action_type, level, count(*) AS n, min(recorded_at) AS oldest, max_by(outcome <> 'success', seq, {int(window)}) AS recent
                    FROM outcomes WHERE seq > ? AND NOT superseded GROUP BY ALL""",
                [top - depth],
            )
        }
        mixed = [name for name in need if (group := groups.get((name, state[name][0]))) and group["oldest"] < (state[name][1] or _DAWN)]
        if mixed:
            for name in mixed:
                del groups[name, state[name][0]]
            for row in rows(
                db,
                f"""SELECT o.action_type, o.level, count(*) AS n, max_by(o.outcome <> 'success', o.seq, {int(window)}) AS recent
                    FROM outcomes o JOIN ({_STATE}) s ON o.action_type = s.action_type AND o.level = s.level AND o.recorded_at >= s.since
                    WHERE o.seq > ? AND NOT o.superseded GROUP BY ALL""",
                [*_state_params(sorted(mixed), state), top - depth],
            ):
                groups[row["action_type"], row["level"]] = row
        for name in sorted(need):
            group = groups.get((name, state[name][0]))
            if whole or (group is not None and group["n"] >= need[name]):
                recent[name] = group["recent"] if group is not None and (name in mixed or group["oldest"] >= (state[name][1] or _DAWN)) else []
                del need[name]
        depth *= 16
    return recent


def _state_params(names: list[str], state: dict[str, tuple[int, datetime | None]]) -> list[Any]:
    """The parameters of ``_STATE`` for these types: their level and since when they are at it."""
    return [names, [state[name][0] for name in names], [state[name][1] or _DAWN for name in names]]


# Proposals not launched, executed or given an outcome: what ``open_proposals`` must hold.
_OPEN = """SELECT id AS proposal_id, created_at FROM proposals
           WHERE id NOT IN (SELECT proposal_id FROM launches) AND id NOT IN (SELECT proposal_id FROM executions)
             AND id NOT IN (SELECT proposal_id FROM outcomes)"""
# Launches no run has reported on: what ``awaiting_runs`` must hold.
_AWAITING = "SELECT proposal_id, run_key, requested_at FROM launches WHERE proposal_id NOT IN (SELECT proposal_id FROM runs)"
# The proposal lists kept as summaries: table, its recount, its columns, the table the recount
# reads, and what a proposal found only by the recount (or only in the table) is.
_LISTS = (
    ("open_proposals", _OPEN, ("proposal_id", "created_at"), "proposals", "has not run", "has run or has an outcome"),
    ("awaiting_runs", _AWAITING, ("proposal_id", "run_key", "requested_at"), "launches",
     "has no run recorded", "has a run recorded or was never launched"),
)


def rebuild_summary(db: duckdb.DuckDBPyConnection) -> None:
    """Recount the summaries (``outcome_counts``, ``action_types``, ``open_proposals``, ``awaiting_runs``) from the rows.

    Every write through this module keeps the summary up to date; this is for rows loaded into
    ``outcomes`` or ``proposals`` directly, such as a bulk import. ``audit.verify`` reports a
    summary that disagrees with the rows.

    Args:
        db: a connection inside a ledger transaction.
    """
    db.execute("DELETE FROM outcome_counts")
    db.execute(
        """INSERT INTO outcome_counts
           SELECT action_type, level, outcome, date_trunc('month', recorded_at)::DATE, count(*), min(seq), max(seq), min(recorded_at)
           FROM outcomes WHERE NOT superseded GROUP BY ALL"""
    )
    db.execute("DELETE FROM action_types")
    db.execute("INSERT INTO action_types SELECT action_type, min(created_at) FROM proposals GROUP BY ALL")
    for table, recount, *_ in _LISTS:
        db.execute(f"DELETE FROM {table}")
        db.execute(f"INSERT INTO {table} {recount}")


def summary_mismatch(db: duckdb.DuckDBPyConnection) -> str | None:
    """How the summaries disagree with a recount of the rows they summarise, or None.

    Args:
        db: a connection inside a ledger transaction.

    Returns:
        One disagreeing row in words, or None when the summary matches.
    """
    found = rows(
        db,
        """WITH actual AS (
               SELECT action_type, level, outcome, date_trunc('month', recorded_at)::DATE AS month, count(*) AS n, min(seq) AS lo, max(seq) AS hi, min(recorded_at) AS first_at
               FROM outcomes WHERE NOT superseded GROUP BY ALL),
           kept AS (SELECT * FROM outcome_counts WHERE n <> 0)
           SELECT coalesce(a.action_type, k.action_type) AS action_type, coalesce(a.level, k.level) AS level,
                  coalesce(a.outcome, k.outcome) AS outcome, coalesce(a.month, k.month) AS month, coalesce(a.n, 0) AS counted, coalesce(k.n, 0) AS kept
           FROM actual a FULL JOIN kept k
             ON a.action_type = k.action_type AND a.level = k.level AND a.outcome = k.outcome AND a.month = k.month
           WHERE a.n IS DISTINCT FROM k.n OR k.first_seq > a.lo OR k.last_seq < a.hi OR k.first_at > a.first_at
           ORDER BY ALL LIMIT 1""",
    )
    if found:
        row = found[0]
        return (
            f"the outcome summary disagrees with the outcomes table ({row['action_type']} at level {row['level']}, {row['outcome']} in the month of {row['month']}: "
            f"{row['counted']} outcomes, summary says {row['kept']} or the wrong rows): ledger rows were changed outside trustladder"
        )
    found = rows(
        db,
        """SELECT action_type, p.first AS counted, t.first_proposed AS kept
           FROM (SELECT action_type, min(created_at) AS first FROM proposals GROUP BY 1) p FULL JOIN action_types t USING (action_type)
           WHERE p.first IS DISTINCT FROM t.first_proposed ORDER BY ALL LIMIT 1""",
    )
    if found:
        row = found[0]
        return (
            f"the action_types summary disagrees with the proposals table ({row['action_type']} first proposed {row['counted']}, "
            f"summary says {row['kept']}): ledger rows were changed outside trustladder"
        )
    for table, recount, columns, source, in_rows, in_table in _LISTS:
        on = " AND ".join(f"r.{column} = s.{column}" for column in columns)
        found = rows(
            db,
            f"""SELECT coalesce(r.proposal_id, s.proposal_id) AS proposal_id, r.proposal_id IS NOT NULL AS counted
                FROM ({recount}) r FULL JOIN {table} s ON {on}
                WHERE r.proposal_id IS NULL OR s.proposal_id IS NULL ORDER BY ALL LIMIT 1""",
        )
        if found:
            row = found[0]
            return (
                f"the {table} summary disagrees with the {source} table ({row['proposal_id']} {in_rows if row['counted'] else in_table}, "
                f"the summary says otherwise): ledger rows were changed outside trustladder"
            )
    return None


def queue(db: duckdb.DuckDBPyConnection) -> list[tuple[StoredProposal, ApprovalRequest]]:
    """Proposals awaiting a human, oldest first."""
    requests = approvals_in_state(db, ApprovalState.PENDING)
    proposals = get_proposals(db, [request.proposal_id for request in requests])
    return [(proposals[request.proposal_id], request) for request in requests if request.proposal_id in proposals]


# -- orchestrator runs ------------------------------------------------------------------------------

# Proposals the gate may hand to an orchestrator: decided allow/notify or approved, never launched,
# executed or given an outcome by other means. Ordered by when they became ready.
# Only the open proposals' decisions are read: the ledger's history does not slow the search.
_READY = """
    WITH latest AS (
        SELECT d.proposal_id, arg_max(d.decision, d.seq) AS decision
        FROM decisions d SEMI JOIN open_proposals o ON d.proposal_id = o.proposal_id GROUP BY 1)
    SELECT o.proposal_id, coalesce(a.resolved_at, o.created_at) AS ready_at
    FROM open_proposals o JOIN latest l USING (proposal_id) LEFT JOIN approvals a USING (proposal_id)
    WHERE (l.decision IN ('allow', 'notify') OR a.state = 'approved')
      AND (coalesce(a.resolved_at, o.created_at), o.proposal_id) > (?, ?)
    ORDER BY ready_at, o.proposal_id
    LIMIT ?"""


def ready_candidates(db: duckdb.DuckDBPyConnection, *, after: tuple[datetime, str] | None, limit: int) -> list[tuple[str, datetime]]:
    """Up to ``limit`` proposals that may be ready to launch, after a ``(ready_at, id)`` cursor."""
    start = (_naive(after[0]), after[1]) if after else (datetime(1970, 1, 1), "")
    return [(row[0], utc(row[1])) for row in db.execute(_READY, [*start, limit]).fetchall()]


def insert_launch(db: duckdb.DuckDBPyConnection, *, proposal_id: str, run_key: str, by: str | None, now: datetime) -> bool:
    """Record that a run was requested for a proposal; False when one already was."""
    recorded = db.execute(
        "INSERT INTO launches VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING proposal_id", [proposal_id, run_key, _naive(now), by]
    ).fetchall()
    _settle(db, proposal_id)
    if recorded:
        db.execute("INSERT INTO awaiting_runs VALUES (?, ?, ?)", [proposal_id, run_key, _naive(now)])
    return bool(recorded)


def launches_without_run(db: duckdb.DuckDBPyConnection, *, limit: int) -> list[tuple[str, str, datetime]]:
    """Launched proposals with no run recorded yet: (proposal id, run key, requested at), oldest first."""
    found = db.execute("SELECT proposal_id, run_key, requested_at FROM awaiting_runs ORDER BY requested_at, proposal_id LIMIT ?", [limit]).fetchall()
    return [(row[0], row[1], utc(row[2])) for row in found]


def unfinished_runs(db: duckdb.DuckDBPyConnection, *, limit: int) -> list[tuple[str, str]]:
    """Runs that executed a proposal and have no result yet: (run id, proposal id), oldest first."""
    return [(row[0], row[1]) for row in db.execute("SELECT run_id, proposal_id FROM runs WHERE finished_at IS NULL ORDER BY cleared_at, run_id, proposal_id LIMIT ?", [limit]).fetchall()]


def runs_of(db: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """The proposals a run was cleared (or refused) to execute, as recorded rows."""
    return rows(db, "SELECT * FROM runs WHERE run_id = ? ORDER BY proposal_id", [run_id])


def insert_run(db: duckdb.DuckDBPyConnection, *, run_id: str, proposal_id: str, cleared_at: datetime | None) -> None:
    """Record a run that was cleared to execute a proposal (or, with no time, one that was not)."""
    db.execute("INSERT INTO runs VALUES (?, ?, ?, NULL, NULL, NULL)", [run_id, proposal_id, _naive(cleared_at) if cleared_at else None])
    db.execute("DELETE FROM awaiting_runs WHERE proposal_id = ?", [proposal_id])


def finish_run(db: duckdb.DuckDBPyConnection, *, run_id: str, proposal_id: str, status: str, outcome: Outcome | None, now: datetime) -> None:
    """Record how a run ended for one proposal and the outcome it counted as (None when it executed nothing)."""
    db.execute(
        "UPDATE runs SET finished_at = ?, status = ?, outcome = ? WHERE run_id = ? AND proposal_id = ?",
        [_naive(now), status, outcome.value if outcome else None, run_id, proposal_id],
    )


def approvals_due(db: duckdb.DuckDBPyConnection, *, now: datetime, valid_minutes: float) -> tuple[list[ApprovalRequest], list[ApprovalRequest]]:
    """Requests a tick must act on: pending ones past ``expires_at``, and approvals older than ``valid_minutes`` never executed.

    Filtered in SQL, so a tick costs what is due, not what is waiting.
    """
    pending = _approvals(db, "SELECT * FROM approvals WHERE state = 'pending' AND expires_at <= ? ORDER BY created_at, proposal_id", [_naive(now)])
    lapsed = _approvals(
        db,
        """SELECT * FROM approvals WHERE state = 'approved' AND coalesce(resolved_at, created_at) + to_microseconds(?) < ?
             AND proposal_id NOT IN (SELECT proposal_id FROM executions) ORDER BY created_at, proposal_id""",
        [int(valid_minutes * 60_000_000), _naive(now)],
    )
    return pending, lapsed


def insert_standing(db: duckdb.DuckDBPyConnection, approval: StandingApproval) -> None:
    """Record a standing approval."""
    db.execute(
        "INSERT INTO standing_approvals VALUES (?, ?, ?, ?, NULL, NULL)",
        [approval.standing_id, approval.model_dump_json(), _naive(approval.granted_at), _naive(approval.expires_at)],
    )


def revoke_standing(db: duckdb.DuckDBPyConnection, standing_id: str, *, by: str, now: datetime) -> None:
    """Mark a standing approval revoked."""
    db.execute("UPDATE standing_approvals SET revoked_at = ?, revoked_by = ? WHERE id = ?", [_naive(now), by, standing_id])


def standing_approvals(db: duckdb.DuckDBPyConnection, *, active_at: datetime | None = None) -> list[StandingApproval]:
    """Standing approvals, oldest first; with ``active_at``, only those in force then."""
    where, params = ("WHERE revoked_at IS NULL AND granted_at <= ? AND expires_at > ?", [_naive(active_at)] * 2) if active_at else ("", [])
    found = db.execute(f"SELECT body, revoked_at, revoked_by FROM standing_approvals {where} ORDER BY granted_at, id", params).fetchall()
    return [
        StandingApproval.model_validate_json(body).model_copy(update={"revoked_at": utc(revoked_at) if revoked_at else None, "revoked_by": revoked_by})
        for body, revoked_at, revoked_by in found
    ]


def undelivered(db: duckdb.DuckDBPyConnection, channel: str, *, events: tuple[str, ...], max_attempts: int, limit: int, now: datetime) -> list[int]:
    """Audit sequence numbers of ``events`` a channel has not delivered yet, oldest first.

    A channel seen for the first time starts after the newest entry, so a new notifier does not
    replay history. Entries that failed ``max_attempts`` times are given up on.
    """
    row = db.execute("SELECT start_seq FROM channels WHERE channel = ?", [channel]).fetchone()
    if row is None:
        newest = db.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()
        start = int(newest[0]) if newest else 0
        db.execute("INSERT INTO channels VALUES (?, ?, ?)", [channel, start, _naive(now)])
    else:
        start = int(row[0])
    found = db.execute(
        f"""SELECT a.seq FROM audit a LEFT JOIN deliveries d ON d.channel = ? AND d.audit_seq = a.seq
            WHERE a.seq > ? AND a.event IN ({", ".join("?" * len(events))})
              AND (d.audit_seq IS NULL OR (d.status = 'failed' AND d.attempts < ?))
            ORDER BY a.seq LIMIT ?""",
        [channel, start, *events, max_attempts, limit],
    ).fetchall()
    return [int(r[0]) for r in found]


def record_delivery(db: duckdb.DuckDBPyConnection, channel: str, seq: int, *, ok: bool, detail: str | None, now: datetime) -> None:
    """Record one delivery attempt of an audit entry on a channel."""
    db.execute(
        """INSERT INTO deliveries VALUES (?, ?, 1, ?, ?, ?)
           ON CONFLICT (channel, audit_seq) DO UPDATE SET attempts = deliveries.attempts + 1, status = excluded.status,
               last_at = excluded.last_at, detail = excluded.detail""",
        [channel, seq, "sent" if ok else "failed", _naive(now), detail],
    )


def insert_review(db: duckdb.DuckDBPyConnection, review: SampledReview) -> None:
    """Queue a sampled execution for review (once per proposal)."""
    db.execute(
        "INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL) ON CONFLICT DO NOTHING",
        [review.proposal_id, review.action_type, review.level, review.share, review.group, _naive(review.sampled_at)],
    )


def save_review(db: duckdb.DuckDBPyConnection, review: SampledReview) -> None:
    """Record a review's verdict."""
    assert review.verdict is not None and review.reviewed_at is not None
    db.execute(
        "UPDATE reviews SET verdict = ?, reviewed_by = ?, reviewed_at = ?, note = ? WHERE proposal_id = ?",
        [review.verdict.value, review.reviewed_by, _naive(review.reviewed_at), review.note, review.proposal_id],
    )


def reviews(db: duckdb.DuckDBPyConnection, *, pending: bool | None = None, proposal_id: str | None = None) -> list[SampledReview]:
    """Sampled reviews, oldest first: all, pending only (``pending=True``), done only (False), or one proposal's."""
    where, params = [], []
    if pending is not None:
        where.append("verdict IS NULL" if pending else "verdict IS NOT NULL")
    if proposal_id is not None:
        where.append("proposal_id = ?")
        params.append(proposal_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    found = rows(
        db,
        f"""SELECT proposal_id, action_type, level, share, review_group AS "group", sampled_at, verdict, reviewed_by, reviewed_at, note
            FROM reviews {clause} ORDER BY sampled_at, proposal_id""",
        params,
    )
    for row in found:
        row["sampled_at"] = utc(row["sampled_at"])
        row["reviewed_at"] = utc(row["reviewed_at"]) if row["reviewed_at"] else None
    return [SampledReview.model_validate(row) for row in found]

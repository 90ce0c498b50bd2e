"""Replay: re-decide the ledger's proposals under a candidate ladder, before anything changes.

"What happens if I raise sql.write to level 3?" Every stored proposal is decided again by the
real ``decide()``, under the candidate and the trust state it would have had (each type's level
replayed from the recorded outcomes by ``supervisor.timeline``), and compared with the decision
recorded when it was made.

It is vectorised by signature. ``decide()`` reads only a few features of a proposal: its action
type and assessment flags, the objects, agent, team and target the deny rules, ownership,
compliance and standing approvals match, whether its confidence is below the candidate's
minimum, where its estimated cost stands against the candidate's ceiling, which candidate freeze
windows and which standing approvals were in force when it was made, and its type's replayed
level then. DuckDB extracts exactly those from the stored JSON (nothing is parsed again), the
proposals are grouped by them, and ``decide()`` runs once per group on its earliest proposal.
``read_naive``/``decide_each`` do the same one proposal at a time: the reference the tests and
the benchmark compare against.

"Before" is the decision recorded when the proposal was made (its first), "after" is
``decide()``'s ``decision`` under the candidate: like with like, so a ladder in observe mode
(which records ``deny`` and lets nothing run) compares as ``deny`` on that side; replaying an
observe-mode ledger under an enforcing candidate shows what would have run. "Needs a human"
is ``require_approval``.

Events are ordered as they happened: by the audit trail's sequence numbers, which record every
proposal, outcome, level change and standing approval in commit order, when it accounts for
them all; otherwise by their recorded times (a state change applies to proposals made at the
same moment).

This module reads the ledger with its own SQL, inside the caller's ``Store.transaction()``: the
replay is an analytical read over whole tables that ``ledger``'s one-row functions do not fit, it
writes nothing, and it keeps the grouping in DuckDB where a million rows cost seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

import duckdb

from supervisor.models import Assessment, Decision, PolicyDecision, Proposal
from supervisor.policy import decide
from supervisor.replay_report import ASSUMPTIONS, Example, LevelReplay, Replay, ReplayedLevelChange, ReviewerLoad, Transition, TypeReplay
from supervisor.standing import StandingApproval
from supervisor.timeline import DAWN_KEY, OUTCOME_CODES, Timeline, TypeHistory, replay_levels, without_sign_off
from supervisor.trust_ladder import Ladder

Progress = Callable[[str, int, int], None]

@dataclass(frozen=True)
class _Standing:
    """A standing approval with the keys of its grant and revocation."""

    approval: StandingApproval
    granted: int
    revoked: int | None


@dataclass
class _History:
    """The trust state under the candidate and what orders events: shared by the fast and the naive replay."""

    audit: bool
    timeline: Timeline
    standing: list[_Standing]
    types: list[str]


@dataclass
class History:
    """What ``read`` takes from the ledger; ``evaluate`` turns it into a ``Replay`` once the ledger is released."""

    base: _History
    columns: tuple[str, ...]
    groups: list[tuple[Any, ...]]
    documents: dict[str, tuple[str, str]]
    since: datetime | None
    recorded_levels: dict[str, tuple[int, int]]
    waits: tuple[int, float | None, float | None, float | None]
    versions: dict[str, int]


# The features decide() reads, from the stored JSON; ``p`` is proposals joined with its key.
_PROPOSAL = """'{"target": "VARCHAR", "confidence": "DOUBLE", "context": {"estimated_cost_usd": "JSON"}}'"""
_ASSESSMENT = (
    """'{"action_type": "VARCHAR", "writes": "BOOLEAN", "destructive": "BOOLEAN", "unknown": "BOOLEAN", "categories": ["VARCHAR"], """
    """"objects": ["VARCHAR"], "max_level": "INTEGER", "notes": [{"code": "VARCHAR"}]}'"""
)
# What decide() reads of an assessment, besides its notes' codes.
_READ = ("action_type", "writes", "destructive", "unknown", "categories", "objects", "max_level")
# Below this many sampled rows, assessments are always parsed once per distinct text.
_SAMPLE_MIN = 2048
# The columns of a group: what decide() reads of its proposals (``features`` numbers the distinct
# assessments as decide() reads them), the recorded decision, and the group's size and earliest proposal.
_GROUP = ("action_type", "features", "agent", "team", "target", "low_confidence", "cost", "freezes", "standing", "level", "before", "n", "example", "first_at", "last_at")


def _keys(audit: bool) -> dict[str, str]:
    """SQL for each table's event key: its audit sequence number, or its time (state changes before proposals at the same µs)."""
    if audit:
        return {
            "proposal_join": "LEFT JOIN (SELECT subject, seq FROM audit WHERE event = 'proposal.created') k ON k.subject = p.id",
            "proposal_key": "k.seq",
        }
    return {"proposal_join": "", "proposal_key": "2 * epoch_us(p.created_at) + 1"}


def _ordered(db: duckdb.DuckDBPyConnection) -> bool:
    """Whether the audit trail records every proposal, outcome, level change and standing approval, so its order can be used."""
    row = db.execute(
        """SELECT (SELECT count(*) FROM proposals), (SELECT count(*) FROM outcomes), (SELECT count(*) FROM level_changes),
                  (SELECT count(*) FROM standing_approvals), (SELECT count(revoked_at) FROM standing_approvals),
                  count(*) FILTER (WHERE event = 'proposal.created'), count(*) FILTER (WHERE event = 'outcome.recorded'),
                  count(*) FILTER (WHERE event = 'level.changed'), count(*) FILTER (WHERE event = 'standing.granted'),
                  count(*) FILTER (WHERE event = 'standing.revoked')
           FROM audit"""
    ).fetchone()
    return row is not None and tuple(row[:5]) == tuple(row[5:])


def _read_history(db: duckdb.DuckDBPyConnection, candidate: Ladder, *, assume_sign_off: bool, progress: Progress | None) -> _History:
    """Order the recorded events and replay each type's level under the candidate."""
    audit = _ordered(db)
    if progress is not None:
        progress("reading the history", 0, 1)
    histories: dict[str, TypeHistory] = {}

    def history(name: str) -> TypeHistory:
        return histories.setdefault(name, TypeHistory(action_type=name, first_proposed=None, point_keys=not audit))

    # Promotion counts days at the initial level from a type's first proposal (ledger.evidence's
    # first_proposed): the earliest recorded one, which is the first unless one was backdated.
    for name, first in db.execute("SELECT action_type, epoch_us(min(created_at)) FROM proposals GROUP BY 1").fetchall():
        history(name).first_proposed = int(first)
    types = sorted(histories)
    # Each type's outcomes as columns in the ledger's order: by seq, which follows the audit
    # trail's order (one transaction at a time), or by time.
    order = "seq" if audit else "recorded_at, seq"
    total = 0
    for name, seqs, keys, ats, codes in db.execute(
        f"""SELECT action_type, list(seq ORDER BY {order}), list({'seq' if audit else '2 * epoch_us(recorded_at)'} ORDER BY {order}),
                   list(epoch_us(recorded_at) ORDER BY {order}),
                   list(CASE outcome {' '.join(f"WHEN '{outcome}' THEN {code}" for outcome, code in OUTCOME_CODES.items())} END ORDER BY {order})
            FROM outcomes GROUP BY 1"""
    ).fetchall():
        found = history(name)
        found.seqs, found.keys, found.ats, found.codes = seqs, keys, ats, codes
        total += len(seqs)
    # An outcome supersedes the one recorded before it for the same proposal (record_outcome marks every earlier one).
    pairs = db.execute(
        """SELECT action_type, seq, earlier FROM (
               SELECT action_type, seq, lag(seq) OVER (PARTITION BY proposal_id ORDER BY seq) AS earlier FROM outcomes
               WHERE proposal_id IN (SELECT proposal_id FROM outcomes WHERE superseded))
           WHERE earlier IS NOT NULL"""
    ).fetchall()
    positions: dict[str, dict[int, int]] = {}
    for name, later, earlier in pairs:
        where = positions.get(name)
        if where is None:
            where = positions[name] = {seq: i for i, seq in enumerate(histories[name].seqs)}
        histories[name].supersedes[where[later]] = where[earlier]
    # Recorded human level changes and violation demotions. In the audit trail's order, a change
    # comes after every outcome recorded before it: its key is the seq of the last of them.
    if audit:
        changes = db.execute(
            """WITH c AS (SELECT seq, action_type, reason, actor, epoch_us(changed_at) AS us,
                                 row_number() OVER (PARTITION BY action_type ORDER BY seq) AS nth FROM level_changes),
                    a AS (SELECT subject, seq, row_number() OVER (PARTITION BY subject ORDER BY seq) AS nth FROM audit WHERE event = 'level.changed'),
                    k AS (SELECT c.*, a.seq AS aseq FROM c LEFT JOIN a ON a.subject = c.action_type AND a.nth = c.nth WHERE c.actor IS NOT NULL OR c.reason = 'violation'),
                    ao AS (SELECT seq AS aseq, row_number() OVER (ORDER BY seq) AS n FROM audit WHERE event = 'outcome.recorded'),
                    os AS (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM outcomes)
               SELECT coalesce(os.seq, 0), k.aseq, k.action_type, k.reason, k.actor, k.us
               FROM k ASOF LEFT JOIN ao ON k.aseq > ao.aseq LEFT JOIN os ON os.n = ao.n
               ORDER BY k.aseq, k.seq"""
        ).fetchall()
    else:
        changes = db.execute(
            """SELECT 2 * epoch_us(changed_at), 2 * epoch_us(changed_at), action_type, reason, actor, epoch_us(changed_at)
               FROM level_changes WHERE actor IS NOT NULL OR reason = 'violation' ORDER BY changed_at, seq"""
        ).fetchall()
    for key, point, name, reason, actor, us in changes:
        history(name).changes.append((int(key), int(point), reason, actor, int(us)))
    ladder = without_sign_off(candidate) if assume_sign_off else candidate
    timeline = replay_levels([histories[name] for name in sorted(histories)], ladder, total=total, progress=progress)
    if timeline.unresolved:
        # The changes outcomes triggered take the audit trail's place of those outcomes.
        seqs = [seq for *_, seq in timeline.unresolved]
        timeline.resolve(dict(db.execute(
            """WITH o AS (SELECT seq, proposal_id, row_number() OVER (PARTITION BY proposal_id ORDER BY seq) AS nth FROM outcomes
                          WHERE proposal_id IN (SELECT proposal_id FROM outcomes WHERE seq IN (SELECT unnest($seqs::BIGINT[])))),
                    a AS (SELECT subject, seq, row_number() OVER (PARTITION BY subject ORDER BY seq) AS nth FROM audit
                          WHERE event = 'outcome.recorded' AND subject IN (SELECT proposal_id FROM o))
               SELECT o.seq, a.seq FROM o JOIN a ON a.subject = o.proposal_id AND a.nth = o.nth""",
            {"seqs": seqs},
        ).fetchall()))
    standing = [
        _Standing(
            approval=StandingApproval.model_validate_json(body).model_copy(update={"revoked_at": None, "revoked_by": None}),
            granted=int(granted),
            revoked=None if revoked is None else int(revoked),
        )
        for body, granted, revoked in db.execute(
            f"""SELECT s.body, {'g.seq' if audit else '2 * epoch_us(s.granted_at)'}, {'r.seq' if audit else '2 * epoch_us(s.revoked_at)'}
                FROM standing_approvals s
                {"LEFT JOIN audit g ON g.event = 'standing.granted' AND g.subject = s.id LEFT JOIN audit r ON r.event = 'standing.revoked' AND r.subject = s.id" if audit else ''}
                ORDER BY s.granted_at, s.id"""
        ).fetchall()
    ]
    return _History(audit=audit, timeline=timeline, standing=standing, types=types)


def _levels_sql(history: _History, candidate: Ladder, params: dict[str, Any]) -> tuple[str, str]:
    """SQL for each proposal's replayed level (and the CTE it needs): a CASE over a few points, an ASOF join over many.

    A proposal the audit trail does not account for (a ledger edited behind trustladder's back)
    has no key and is decided at level 1: unknown fails closed.
    """
    points = {name: history.timeline.points.get(name) or [(DAWN_KEY, candidate.policy_for(name).initial)] for name in sorted(set(history.types) | set(history.timeline.points))}
    if sum(len(found) for found in points.values()) <= _CASE_POINTS:
        branches = []
        for t, (name, found) in enumerate(points.items()):
            params[f"t{t}"] = name
            steps = []
            for n, (key, level) in enumerate(reversed(found[1:])):
                params[f"k{t}_{n}"] = key
                steps.append(f"WHEN p.key > $k{t}_{n} THEN {int(level)}")
            branches.append(f"WHEN $t{t} THEN " + (f"CASE {' '.join(steps)} ELSE {int(found[0][1])} END" if steps else str(int(found[0][1]))))
        return "", f"CASE WHEN p.key IS NULL THEN 1 ELSE CASE p.action_type {' '.join(branches)} ELSE 1 END END" if branches else "1"
    params["types"] = [name for name, found in points.items() for _ in found]
    params["keys"] = [key for found in points.values() for key, _ in found]
    params["levels"] = [level for found in points.values() for _, level in found]
    timeline = "timeline AS (SELECT unnest($types::VARCHAR[]) AS action_type, unnest($keys::BIGINT[]) AS key, unnest($levels::INTEGER[]) AS level),"
    return timeline, "coalesce(t.level, 1)"


_CASE_POINTS = 256


def _classes(values: list[str | None], features: Callable[[str | None], tuple[Any, ...]], column: str, name: str, params: dict[str, Any]) -> tuple[str, str]:
    """Number the distinct values of an agent or team column by what decide() can tell apart of them; SQL for the class and its join.

    decide() reads an agent or a team only through a few comparisons with the candidate's globs
    and owners (``features``, made with the same calls): values that compare alike decide alike,
    so they share a class and proposals that differ only in them share a group.
    """
    found: dict[tuple[Any, ...], int] = {}
    classes = [found.setdefault(features(value), len(found)) for value in values]
    if len(found) <= 1:
        return "0", ""
    params[f"{name}_values"], params[f"{name}_classes"] = values, classes
    join = f"LEFT JOIN (SELECT unnest(${name}_values::VARCHAR[]) AS v, unnest(${name}_classes::INTEGER[]) AS c) {name} ON {name}.v IS NOT DISTINCT FROM {column}"
    return f"{name}.c", join


def _agent_features(candidate: Ladder, standing: list[_Standing]) -> Callable[[str | None], tuple[bool, ...]]:
    """decide() reads an agent only through the deny rules' and the standing approvals' agent globs."""
    globs = [glob for rule in candidate.deny for glob in rule.agents] + [glob for item in standing for glob in item.approval.agents]
    return lambda agent: tuple(fnmatchcase(agent or "", glob) for glob in globs)


def _team_features(candidate: Ladder) -> Callable[[str | None], tuple[bool, ...]]:
    """decide() reads a team only to compare it with the owner of each object (ownership)."""
    owners = sorted(set(candidate.ownership.values()))
    return lambda team: tuple(team == owner for owner in owners)


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def read(
    db: duckdb.DuckDBPyConnection,
    candidate: Ladder,
    *,
    since: datetime | None = None,
    assume_sign_off: bool = False,
    progress: Progress | None = None,
    members: bool = False,
    per_row: bool | None = None,
) -> History:
    """Read what the replay needs from the ledger, in one transaction.

    Args:
        db: a connection inside a ``Store.transaction()``.
        candidate: the ladder to replay under.
        since: only proposals made at or after this are re-decided (the trust state still comes
            from the whole history).
        assume_sign_off: apply promotions as soon as they are due.
        progress: called as ``progress(stage, done, total)``.
        members: also list each group's proposal ids (column ``ids``), to check the grouping.
        per_row: parse each proposal's assessment where it is read (True) or each distinct one
            once (False); None chooses from a sample.

    Returns:
        The grouped proposals and everything ``evaluate`` reports, read in one consistent snapshot.
    """
    base = _read_history(db, candidate, assume_sign_off=assume_sign_off, progress=progress)
    keys = _keys(base.audit)
    params: dict[str, Any] = {"since": _naive(since) if since else datetime(1, 1, 1)}
    freezes = []
    for i, window in enumerate(candidate.freezes):
        params[f"fs{i}"], params[f"fe{i}"] = _naive(window.start), _naive(window.end)
        freezes.append(f"CASE WHEN p.created_at >= $fs{i} AND p.created_at < $fe{i} THEN '{i}' END")
    standing = []
    for i, item in enumerate(base.standing):
        params[f"sg{i}"], params[f"sr{i}"] = item.granted, item.revoked
        params[f"sa{i}"], params[f"se{i}"] = _naive(item.approval.granted_at), _naive(item.approval.expires_at)
        standing.append(
            f"CASE WHEN p.key > $sg{i} AND p.created_at >= $sa{i} AND p.created_at < $se{i} AND NOT coalesce(p.key > $sr{i}, false) THEN '{i}' END"
        )
    timeline, level = _levels_sql(base, candidate, params)
    agents = [row[0] for row in db.execute("SELECT DISTINCT agent FROM proposals WHERE created_at >= $since", {"since": params["since"]}).fetchall()]
    teams = [row[0] for row in db.execute("SELECT DISTINCT team FROM proposals WHERE created_at >= $since", {"since": params["since"]}).fetchall()]
    agent, agent_join = _classes(agents, _agent_features(candidate, base.standing), "p.agent", "agents", params)
    team, team_join = _classes(teams, _team_features(candidate), "p.team", "teams", params)
    params["min_confidence"] = candidate.escalations.min_confidence
    params["ceiling"] = candidate.escalations.cost_ceiling_usd
    [(count,)] = db.execute("SELECT count(*) FROM proposals WHERE created_at >= $since", {"since": params["since"]}).fetchall()
    # "before" is the decision recorded when the proposal was made: its first
    first = "(SELECT proposal_id, arg_min(decision, seq) AS decision FROM decisions GROUP BY 1)"
    if progress is not None:
        progress("grouping proposals", 0, int(count))
    cost = "p.q.context.estimated_cost_usd"
    # Grouped in two steps: by the proposal's own features and its assessment, then the groups
    # whose assessments decide() reads alike merge. Assessments repeat (the same SQL has the same
    # one), so each distinct text is parsed once; when most in a sample are distinct, each is
    # parsed where it is read instead, and grouped by what decide() reads of it.
    [(sampled, distinct)] = db.execute("SELECT count(*), approx_count_distinct(assessment) FROM proposals USING SAMPLE 2% (system)").fetchall()
    if per_row is None:
        per_row = sampled >= _SAMPLE_MIN and distinct > sampled / 2
    if per_row:
        document = "p.doc"
        parsed = f"struct_pack({', '.join(f'{k} := x.{k}' for k in _READ)}, notes := list_transform(x.notes, lambda n: n.code)) AS doc"
        source = f"(SELECT *, from_json(assessment, {_ASSESSMENT}) AS x FROM proposals)"
        features = "SELECT doc, doc.action_type, dense_rank() OVER (ORDER BY doc) AS features FROM (SELECT DISTINCT doc FROM f)"
    else:
        document, parsed, source = "p.assessment", "NULL AS doc", "proposals"
        features = f"""SELECT doc, x.action_type, dense_rank() OVER (ORDER BY {', '.join(f'x.{k}' for k in _READ)}, x.notes) AS features
                       FROM (SELECT doc, from_json(doc, {_ASSESSMENT}) AS x FROM (SELECT DISTINCT doc FROM f))"""
    groups = db.execute(
        f"""WITH {timeline}
            p AS (
              SELECT p.id, p.created_at, p.action_type, p.agent, p.team, p.assessment, {parsed}, {keys['proposal_key']} AS key, from_json(p.proposal, {_PROPOSAL}) AS q
              FROM {source} p {keys['proposal_join']}
              WHERE p.created_at >= $since),
            f AS (
              SELECT {document} AS doc, {agent} AS agent, {team} AS team, p.q.target AS target,
                     p.q.confidence IS NULL OR p.q.confidence < $min_confidence AS low_confidence,
                     CASE WHEN {cost} IS NULL OR json_type({cost}) = 'NULL' THEN 'none'
                          WHEN json_type({cost}) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
                            THEN CASE WHEN TRY_CAST({cost} AS DOUBLE) > $ceiling THEN 'over'
                                      WHEN TRY_CAST({cost} AS DOUBLE) < 0 THEN 'negative' ELSE 'within' END
                          ELSE 'value ' || {cost}::VARCHAR END AS cost,
                     {f"concat_ws(',', {', '.join(freezes)})" if freezes else "''"} AS freezes,
                     {f"concat_ws(',', {', '.join(standing)})" if standing else "''"} AS standing,
                     {level} AS level, coalesce(d.decision, 'none') AS before,
                     count(*) AS n, min_by(p.id, p.created_at) AS example, min(p.created_at) AS first_at, max(p.created_at) AS last_at{", list(p.id) AS ids" if members else ""}
              FROM p {"ASOF LEFT JOIN timeline t ON p.action_type = t.action_type AND p.key > t.key" if timeline else ""}
              LEFT JOIN {first} d ON d.proposal_id = p.id {agent_join} {team_join}
              GROUP BY ALL),
            a AS ({features})
            SELECT a.action_type, a.features, f.agent, f.team, f.target, f.low_confidence, f.cost, f.freezes, f.standing, f.level, f.before,
                   sum(f.n)::BIGINT AS n, arg_min(f.example, f.first_at) AS example, min(f.first_at) AS first_at, max(f.last_at) AS last_at{", flatten(list(f.ids)) AS ids" if members else ""}
            FROM f JOIN a USING (doc)
            GROUP BY ALL""",
        params,
    ).fetchall()
    if progress is not None:
        progress("grouping proposals", int(count), int(count))
    examples = [row[_GROUP.index("example")] for row in groups]
    documents = {
        pid: (proposal, assessment)
        for pid, proposal, assessment in db.execute(
            "SELECT id, proposal, assessment FROM proposals WHERE id IN (SELECT unnest($ids::VARCHAR[]))", {"ids": examples}
        ).fetchall()
    }
    recorded = {name: (int(level), int(n)) for name, level, n in db.execute("SELECT action_type, arg_max(to_level, seq), count(*) FROM level_changes GROUP BY 1").fetchall()}
    waits = db.execute(
        """SELECT count(*), quantile_cont(m, 0.5), quantile_cont(m, 0.95), avg(m)
           FROM (SELECT epoch(resolved_at - created_at) / 60 AS m FROM approvals
                 WHERE state IN ('approved', 'rejected') AND resolved_at IS NOT NULL AND created_at >= $since)""",
        {"since": params["since"]},
    ).fetchone()
    versions = dict(db.execute("SELECT policy_version, count(*) FROM decisions WHERE decided_at >= $since GROUP BY 1 ORDER BY 2 DESC", {"since": params["since"]}).fetchall())
    return History(
        base=base,
        columns=(*_GROUP, "ids") if members else _GROUP,
        groups=groups,
        documents=documents,
        since=since,
        recorded_levels=recorded,
        waits=(int(waits[0]), waits[1], waits[2], waits[3]) if waits else (0, None, None, None),
        versions={str(k): int(v) for k, v in versions.items()},
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def evaluate(history: History, candidate: Ladder, *, current: Ladder | None = None, assume_sign_off: bool = False, progress: Progress | None = None) -> Replay:
    """Decide each group once under the candidate and report what changes.

    Args:
        history: what ``read`` took from the ledger.
        candidate: the ladder replayed under.
        current: the ladder in force, for its policy version.
        assume_sign_off: whether ``read`` applied promotions as soon as due.
        progress: called as ``progress("deciding", done, total)``.

    Returns:
        The replay's report.
    """
    proposals = changed = 0
    before_human = after_human = 0
    per_type: dict[str, dict[str, Any]] = {}
    first_at: datetime | None = None
    last_at: datetime | None = None
    total = len(history.groups)
    for group, made in decide_groups(history, candidate, progress=progress):
        action_type, before, n, example, first, last = (group[k] for k in ("action_type", "before", "n", "example", "first_at", "last_at"))
        after = made.decision.value
        entry = per_type.setdefault(action_type, {"proposals": 0, "changed": 0, "before": Counter(), "after": Counter(), "transitions": Counter(), "changes": []})
        entry["proposals"] += n
        entry["before"][before] += n
        entry["after"][after] += n
        proposals += n
        before_human += n if before == Decision.REQUIRE_APPROVAL.value else 0
        after_human += n if made.decision is Decision.REQUIRE_APPROVAL else 0
        if before != after:
            changed += n
            entry["changed"] += n
            entry["transitions"][before, after] += n
            entry["changes"].append((example, _utc(first), before, after, made))
        first_at = _utc(first) if first_at is None else min(first_at, _utc(first))
        last_at = _utc(last) if last_at is None else max(last_at, _utc(last))
    by_type = [_type_replay(name, entry) for name, entry in per_type.items()]
    by_type.sort(key=lambda t: (-t.changed, t.action_type))
    return Replay(
        proposals=proposals,
        changed=changed,
        needs_human_before=before_human / proposals if proposals else 0.0,
        needs_human_after=after_human / proposals if proposals else 0.0,
        by_action_type=tuple(by_type),
        policy_version=candidate.policy_version,
        candidate=candidate.source,
        current_policy_version=current.policy_version if current is not None else None,
        recorded_policy_versions=history.versions,
        since=history.since,
        first_proposal=first_at,
        last_proposal=last_at,
        reviewer_load=_load(history, first_at, last_at, before_human, after_human),
        levels=_levels(history, candidate, per_type),
        level_changes=tuple(
            ReplayedLevelChange(action_type=c.change.action_type, at=c.at, from_level=c.change.from_level, to_level=c.change.to_level, reason=c.change.reason, by=c.actor)
            for c in sorted(history.base.timeline.changes, key=lambda c: (c.key or 0, c.at))
        ),
        skipped_sign_offs=len(history.base.timeline.skipped_sign_offs),
        outcomes_replayed=history.base.timeline.outcomes,
        assume_sign_off=assume_sign_off,
        ordered_by="audit" if history.base.audit else "time",
        signatures=total,
        assumptions=ASSUMPTIONS,
    )


def decide_groups(history: History, candidate: Ladder, *, progress: Progress | None = None) -> Iterator[tuple[dict[str, Any], PolicyDecision]]:
    """Each group (as a dict of its columns) with ``decide()``'s answer for its earliest proposal, which is every member's.

    Args:
        history: what ``read`` took from the ledger.
        candidate: the ladder replayed under.
        progress: called as ``progress("deciding", done, total)``.

    Yields:
        The group and its decision.
    """
    standing = [item.approval for item in history.base.standing]
    assessments: dict[str, Assessment] = {}
    total = len(history.groups)
    for done, row in enumerate(history.groups, 1):
        group = dict(zip(history.columns, row, strict=True))
        text, assessment_text = history.documents[group["example"]]
        assessment = assessments.get(assessment_text)
        if assessment is None:
            assessment = assessments[assessment_text] = Assessment.model_validate_json(assessment_text)
        yield group, decide(
            Proposal.model_validate_json(text),
            assessment,
            candidate,
            level=group["level"],
            now=_utc(group["first_at"]),
            standing=tuple(standing[int(i)] for i in group["standing"].split(",")) if group["standing"] else (),
        )
        if progress is not None and (done % 1000 == 0 or done == total):
            progress("deciding", done, total)


def _type_replay(name: str, entry: dict[str, Any]) -> TypeReplay:
    transitions = sorted(entry["transitions"].items(), key=lambda item: (-item[1], item[0]))
    # One example per kind of change first (the largest first), then the earliest others.
    changes = sorted(entry["changes"], key=lambda c: c[1])
    picked: list[tuple[Any, ...]] = []
    for (before, after), _ in transitions:
        found = next((c for c in changes if (c[2], c[3]) == (before, after)), None)
        if found is not None and len(picked) < 3:
            picked.append(found)
    picked += [c for c in changes if c not in picked][: 3 - len(picked)]
    return TypeReplay(
        action_type=name,
        proposals=entry["proposals"],
        changed=entry["changed"],
        before=dict(entry["before"].most_common()),
        after=dict(entry["after"].most_common()),
        transitions=tuple(Transition(before=b, after=a, count=n) for (b, a), n in transitions),
        examples=tuple(
            Example(proposal_id=pid, created_at=at, before=before, after=after, level=made.level, reason=made.reasons[0] if made.reasons else None)
            for pid, at, before, after, made in picked
        ),
    )


def _load(history: History, first: datetime | None, last: datetime | None, before: int, after: int) -> ReviewerLoad:
    days = max(1.0, (last - first).total_seconds() / 86400) if first and last else 1.0
    count, p50, p95, mean = history.waits

    def waiting(approvals: int) -> float | None:
        return approvals / (days * 1440) * mean if mean is not None else None

    return ReviewerLoad(
        days=days,
        approvals_before=before,
        approvals_after=after,
        per_day_before=before / days,
        per_day_after=after / days,
        waits_recorded=count,
        wait_p50_minutes=p50,
        wait_p95_minutes=p95,
        wait_mean_minutes=mean,
        waiting_before=waiting(before),
        waiting_after=waiting(after),
    )


def _levels(history: History, candidate: Ladder, per_type: dict[str, Any]) -> tuple[LevelReplay, ...]:
    replayed = Counter(c.change.action_type for c in history.base.timeline.changes)
    names = sorted(set(per_type) | set(history.recorded_levels) | set(replayed))
    return tuple(
        LevelReplay(
            action_type=name,
            recorded_level=history.recorded_levels[name][0] if name in history.recorded_levels else None,
            replayed_level=history.base.timeline.final(name, candidate.policy_for(name).initial),
            recorded_changes=history.recorded_levels.get(name, (0, 0))[1],
            replayed_changes=replayed[name],
        )
        for name in names
    )


# -- the reference: one proposal at a time -----------------------------------------------------------


@dataclass
class Naive:
    """The stored proposals, one row each, with the replayed history: the input of ``decide_each``."""

    base: _History
    rows: list[tuple[str, datetime, int | None, str, str, str | None]]


def read_naive(
    db: duckdb.DuckDBPyConnection, candidate: Ladder, *, since: datetime | None = None, assume_sign_off: bool = False, ids: Sequence[str] | None = None
) -> Naive:
    """Read every proposal (or those in ``ids``) for the per-proposal replay.

    Args:
        db: a connection inside a ``Store.transaction()``.
        candidate: the ladder to replay under.
        since: only proposals made at or after this.
        assume_sign_off: apply promotions as soon as they are due.
        ids: only these proposals.

    Returns:
        The rows (id, created_at, key, proposal JSON, assessment JSON, recorded decision) and the history.
    """
    base = _read_history(db, candidate, assume_sign_off=assume_sign_off, progress=None)
    keys = _keys(base.audit)
    only = "AND p.id IN (SELECT unnest($ids::VARCHAR[]))" if ids is not None else ""
    rows = db.execute(
        f"""SELECT p.id, p.created_at, {keys['proposal_key']}, p.proposal, p.assessment,
                   (SELECT arg_min(decision, seq) FROM decisions d WHERE d.proposal_id = p.id)
            FROM proposals p {keys['proposal_join']}
            WHERE p.created_at >= $since {only} ORDER BY p.created_at, p.id""",
        {"since": _naive(since) if since else datetime(1, 1, 1), **({"ids": list(ids)} if ids is not None else {})},
    ).fetchall()
    return Naive(base=base, rows=[(str(r[0]), _utc(r[1]), r[2], str(r[3]), str(r[4]), r[5]) for r in rows])


def decide_each(naive: Naive, candidate: Ladder) -> dict[str, PolicyDecision]:
    """Parse each stored proposal and call ``decide()`` on it, one at a time.

    Args:
        naive: what ``read_naive`` read.
        candidate: the ladder to decide under (as given to ``read_naive``).

    Returns:
        Each proposal's decision under the candidate.
    """
    decided = {}
    for pid, created_at, key, text, assessment_text, _ in naive.rows:
        proposal = Proposal.model_validate_json(text)
        assessment = Assessment.model_validate_json(assessment_text)
        action_type = assessment.action_type
        level = naive.base.timeline.level(action_type, key, candidate.policy_for(action_type).initial) if key is not None else 1
        standing = tuple(s.approval for s in naive.base.standing if key is not None and s.granted < key and (s.revoked is None or key <= s.revoked))
        decided[pid] = decide(proposal, assessment, candidate, level=level, now=created_at, standing=standing)
    return decided

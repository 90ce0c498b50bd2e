"""``trustladder simulate``: replaying the ledger under a candidate ladder, on ledgers built through the API."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from supervisor import replay
from supervisor.cli import build_parser, main
from supervisor.handlers import _ProgressBar
from supervisor.ledger import StoredProposal, proposals_since
from supervisor.models import Decision, Outcome, Proposal
from supervisor.replay_report import render_replay
from supervisor.service import Supervisor
from supervisor.timeline import TypeHistory, replay_levels
from supervisor.trust_ladder import Ladder, load_ladder, parse_ladder
from tests.supervisor.conftest import LADDER, T0, action, merged, sql

FIX = "UPDATE shop.orders SET status = 'pending' WHERE status = 'stuck'"
ROTATE = {"credential": "ingestion.svc_loader", "system": "snowflake"}
# The ladder in force while the histories are recorded: promotion is quick, and every escalation
# decide() knows (ownership, compliance, a deny rule, a freeze) has something to catch.
CURRENT: dict[str, Any] = {
    "promotion": {"min_outcomes": 3, "max_error_rate": 0.9, "min_days_at_level": 0},
    "demotion": {"window": 5, "max_error_rate": 0.5},
    "ownership": {"finance.*": "finance"},
    "compliance": {"crm.customers": ["pii"]},
    "deny": [{"agents": ["sandbox-*"], "message": "sandbox agents only propose reads"}],
    "freezes": [{"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T13:00:00Z", "action_types": ["sql.*"], "reason": "month-end close"}],
}


def write_ladder(path: Path, **overrides: Any) -> Path:
    """The repository's ladder with ``CURRENT`` and ``overrides`` merged in."""
    data = merged(merged(yaml.safe_load(LADDER.read_text()), CURRENT), overrides)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class Clock:
    """The history's clock: each step moves on by ``step`` (zero: every event at the same moment)."""

    def __init__(self, step: timedelta) -> None:
        self.now, self.step = T0, step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def run(sup: Supervisor, clock: Clock, proposal: Proposal, outcome: Outcome | None = Outcome.SUCCESS, *, approve: bool = True) -> str:
    """Propose; approve it when it needs a human; record the outcome when it was cleared."""
    recorded = sup.propose(proposal, now=clock())
    decision = recorded.decision.decision
    if decision is Decision.REQUIRE_APPROVAL:
        if not approve:
            sup.reject(recorded.proposal_id, by="alice", reason="not now", now=clock())
            return recorded.proposal_id
        sup.approve(recorded.proposal_id, by="alice", now=clock())
    if decision is not Decision.DENY and outcome is not None:
        sup.record_outcome(recorded.proposal_id, outcome, now=clock())
    return recorded.proposal_id


def busy(sup: Supervisor, clock: Clock) -> None:
    """Promotions signed off, an incident, a superseded success, a manual demotion, a violation, a standing approval granted and revoked, every escalation."""
    for _ in range(4):
        run(sup, clock, sql(FIX))
    sup.promote("sql.write", by="bob", now=clock())
    for cost in (500, 50_000, "unknown", "20000", 0.5, -5):
        run(sup, clock, sql(FIX, context={"estimated_cost_usd": cost}))
    run(sup, clock, sql(FIX, team="finance"))  # another team, at level 2
    run(sup, clock, sql(FIX, confidence=0.7))  # at the minimum exactly
    run(sup, clock, sql(FIX, agent=None, team=None))  # nobody in particular
    for _ in range(3):
        run(sup, clock, sql(FIX))
    run(sup, clock, sql(FIX), Outcome.INCIDENT)  # level 2 -> 1
    run(sup, clock, sql(FIX, confidence=0.5))
    run(sup, clock, sql(FIX, confidence=None))
    run(sup, clock, sql("UPDATE finance.ledger SET amount = 0 WHERE id = 7"))  # another team's table
    run(sup, clock, sql("UPDATE crm.customers SET email = lower(email) WHERE id = 9", team="growth"))  # pii
    run(sup, clock, sql(FIX, agent="sandbox-1"))  # denied
    run(sup, clock, sql("SELECT count(*) FROM shop.orders"), None)
    run(sup, clock, sql("DROP TABLE shop.orders"), approve=False)
    for _ in range(3):
        run(sup, clock, sql(FIX))
    sup.promote("sql.write", by="alice", now=clock())
    run(sup, clock, sql(FIX))
    sup.demote("sql.write", by="bob", reason="a noisy week", now=clock())
    run(sup, clock, sql(FIX))
    # pipeline actions: promoted, then a success superseded by an incident, then a violation
    retry = action("retry_task", {"job": "daily_etl", "task": "load"}, target="daily_etl")
    for _ in range(4):
        run(sup, clock, retry)
    sup.promote("pipeline.retry_task", by="alice", now=clock())
    pid = run(sup, clock, retry)
    sup.record_outcome(pid, Outcome.INCIDENT, note="it ran twice", now=clock())  # supersedes the success; 2 -> 1
    for _ in range(3):
        run(sup, clock, retry)
    sup.promote("pipeline.retry_task", by="bob", now=clock())
    refused = sup.propose(action("retry_task", {"job": "daily_etl", "task": "load"}, target="daily_etl", confidence=0.3), now=clock())
    assert not sup.authorize(refused.proposal_id, now=clock(), strict=True).may_run  # a violation: 2 -> 1
    run(sup, clock, retry)
    rotate = action("rotate_credential", ROTATE, target="ingestion.loader")
    run(sup, clock, rotate)
    standing = sup.grant_standing(action_types=("pipeline.rotate_credential",), objects=("ingestion.*",), by="alice", until=T0 + timedelta(days=30), reason="rotation", now=clock())
    run(sup, clock, rotate)
    run(sup, clock, action("rotate_credential", ROTATE, target="ingestion.loader", agent="intern-bot"))
    sup.revoke_standing(standing.standing_id, by="bob", reason="done", now=clock())
    run(sup, clock, rotate)


def automatic(sup: Supervisor, clock: Clock) -> None:
    """Promotion without sign-off, and demotion on the error rate in the window."""
    for _ in range(3):
        run(sup, clock, sql(FIX))
    for _ in range(2):
        run(sup, clock, sql(FIX))
    for _ in range(3):
        run(sup, clock, sql(FIX), Outcome.FAILURE)
    for _ in range(4):
        run(sup, clock, sql(FIX))


HISTORIES: dict[str, tuple[Callable[[Supervisor, Clock], None], dict[str, Any], timedelta]] = {
    "signed off, every 7 minutes": (busy, {}, timedelta(minutes=7)),
    "signed off, all at one moment": (busy, {}, timedelta(0)),
    "automatic, every 20 minutes": (automatic, {"promotion": {"sign_off": False}}, timedelta(minutes=20)),
    "automatic, all at one moment": (automatic, {"promotion": {"sign_off": False}}, timedelta(0)),
    "observe mode": (busy, {"mode": "observe"}, timedelta(minutes=7)),
}


@pytest.fixture(scope="module", params=sorted(HISTORIES))
def recorded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Supervisor, Path]:
    """A supervisor whose ledger holds one of HISTORIES, recorded under its ladder; and that ladder's file. Replays only read it."""
    play, overrides, step = HISTORIES[request.param]
    directory = tmp_path_factory.mktemp("history")
    path = write_ladder(directory / "current.yaml", **overrides)
    sup = Supervisor(ladder=load_ladder(path), ledger=directory / "ledger.duckdb")
    if overrides.get("mode") == "observe":
        for i in range(6):  # nothing can run in observe mode, so there are no outcomes to record
            sup.propose(sql(FIX, confidence=0.5 + i / 10), now=T0 + step * i)
            sup.propose(action("retry_task", {"job": "daily_etl", "task": "load"}), now=T0 + step * i)
    else:
        play(sup, Clock(step))
    return sup, path


def stored(sup: Supervisor) -> list[StoredProposal]:
    """Every proposal with its first (recorded) decision."""
    with sup.store.transaction() as db:
        return proposals_since(db, None)


def candidate(base: Path, name: str, **overrides: Any) -> Ladder:
    """The ladder at ``base`` with overrides, written beside it."""
    data = merged(yaml.safe_load(base.read_text()), overrides)
    path = base.with_name(name)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_ladder(path)


def vectorised(sup: Supervisor, ladder: Ladder, **options: Any) -> dict[str, Decision]:
    """Each proposal's decision from the grouped replay, group membership included."""
    with sup.store.transaction() as db:
        history = replay.read(db, ladder, members=True, **options)
    return {pid: made.decision for group, made in replay.decide_groups(history, ladder) for pid in group["ids"]}


def naive(sup: Supervisor, ladder: Ladder, **options: Any) -> dict[str, Decision]:
    """Each proposal parsed and decided on its own."""
    with sup.store.transaction() as db:
        rows = replay.read_naive(db, ladder, **options)
    return {pid: made.decision for pid, made in replay.decide_each(rows, ladder).items()}


def changed_ids(sup: Supervisor, ladder: Ladder, **options: Any) -> set[str]:
    before = {p.proposal_id: p.decision.decision for p in stored(sup)}
    return {pid for pid, after in vectorised(sup, ladder, **options).items() if after is not before[pid]}


# -- the ladder in force changes nothing -------------------------------------------------------------


@pytest.mark.slow
def test_replaying_a_ledger_under_its_own_ladder_changes_nothing(recorded: tuple[Supervisor, Path]) -> None:
    sup, _ = recorded
    result = sup.simulate(sup.ladder)
    assert result.proposals == len(stored(sup)) > 0
    assert result.changed == 0, [t.examples for t in result.by_action_type if t.changed]
    assert all(t.before == t.after for t in result.by_action_type)
    assert result.needs_human_before == result.needs_human_after
    assert result.ordered_by == "audit"
    assert result.current_policy_version == result.policy_version == sup.ladder.policy_version
    # the trust state it replays is the one recorded: the same level changes, to the same levels
    assert [(lv.action_type, lv.replayed_level, lv.replayed_changes) for lv in result.levels if lv.recorded_level is not None] == [
        (lv.action_type, lv.recorded_level, lv.recorded_changes) for lv in result.levels if lv.recorded_level is not None
    ]
    assert result.skipped_sign_offs == 0


@pytest.mark.slow
def test_the_replayed_level_changes_are_the_recorded_ones(tmp_path: Path) -> None:
    sup = Supervisor(ladder=load_ladder(write_ladder(tmp_path / "current.yaml")), ledger=tmp_path / "ledger.duckdb")
    busy(sup, Clock(timedelta(minutes=7)))
    result = sup.simulate(sup.ladder)
    recorded = [(r["action_type"], r["from_level"], r["to_level"], r["reason"]) for r in sup.level_history()]
    assert [(c.action_type, c.from_level, c.to_level, c.reason) for c in result.level_changes] == recorded
    assert {c.reason for c in result.level_changes} == {"promotion", "incident", "manual", "violation"}
    assert result.outcomes_replayed == len([o for p in stored(sup) for o in sup.get(p.proposal_id)[2]])


@pytest.mark.slow
def test_without_the_audit_trail_events_are_ordered_by_time(tmp_path: Path) -> None:
    sup = Supervisor(ladder=load_ladder(write_ladder(tmp_path / "current.yaml")), ledger=tmp_path / "ledger.duckdb")
    busy(sup, Clock(timedelta(minutes=7)))
    with duckdb.connect(str(tmp_path / "ledger.duckdb")) as raw:
        raw.execute("DELETE FROM audit")  # a ledger loaded behind trustladder's back
    result = sup.simulate(sup.ladder)
    assert (result.ordered_by, result.changed) == ("time", 0)


# -- the grouped replay is decide() on every proposal ------------------------------------------------

CANDIDATES: dict[str, dict[str, Any]] = {
    "own": {},
    "sql.write ceiling 1": {"action_types": {"sql.write": {"initial": 1, "ceiling": 1}}},
    "sql.write at 3": {"action_types": {"sql.write": {"initial": 3, "ceiling": 3}}},
    "freeze over the span": {"freezes": [{"start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z", "action_types": ["sql.*"], "reason": "audit"}]},
    "cost ceiling 100": {"escalations": {"cost_ceiling_usd": 100}},
    "confidence 0.95": {"escalations": {"min_confidence": 0.95}},
    "governed": {
        "ownership": {"shop.*": "commerce", "daily_etl": "data-eng", "ingestion.*": "platform"},
        "compliance": {"finance.ledger": ["sox"]},
        "deny": [{"action_types": ["pipeline.*"], "agents": ["intern-*"], "message": "interns do not touch pipelines"},
                 {"action_types": ["sql.write"], "objects": ["finance.*"], "message": "no writes to finance"}],
    },
    "automatic, every type to 4": {"action_types": {name: {"initial": 1, "ceiling": 4} for name in ("sql.write", "pipeline.retry_task", "pipeline.rotate_credential")},
                                   "promotion": {"sign_off": False}, "demotion": {"on_incident": False, "on_violation": False}},
    "observe": {"mode": "observe"},
    "enforce": {"mode": "enforce"},
}


@pytest.mark.slow
def test_a_negative_cost_is_not_grouped_with_costs_under_the_ceiling(tmp_path: Path) -> None:
    # Both need a human at level 1, so they were decided alike; at level 3 only the negative
    # estimate still does, and a group holding both would decide them alike again.
    sup = Supervisor(ladder=load_ladder(write_ladder(tmp_path / "current.yaml")), ledger=tmp_path / "ledger.duckdb")
    clock = Clock(timedelta(minutes=7))
    for cost in (50, -5):
        sup.propose(sql(FIX, context={"estimated_cost_usd": cost}), now=clock())
    assert {p.decision.decision for p in stored(sup)} == {Decision.REQUIRE_APPROVAL}
    ladder = candidate(tmp_path / "current.yaml", "at-3.yaml", action_types={"sql.write": {"initial": 3, "ceiling": 3}})
    one_by_one = naive(sup, ladder)
    assert sorted(decision.value for decision in one_by_one.values()) == ["allow", "require_approval"]
    assert vectorised(sup, ladder, per_row=False) == one_by_one
    assert vectorised(sup, ladder, per_row=True) == one_by_one


@pytest.mark.parametrize("name", sorted(CANDIDATES))
def test_the_grouped_replay_decides_each_proposal_as_decide_does(recorded: tuple[Supervisor, Path], name: str) -> None:
    sup, path = recorded
    ladder = candidate(path, f"{name.replace(' ', '-')}.yaml", **CANDIDATES[name])
    one_by_one = naive(sup, ladder)
    # assessments parsed once per distinct text, or where each proposal is read
    assert vectorised(sup, ladder, per_row=False) == one_by_one
    assert vectorised(sup, ladder, per_row=True) == one_by_one
    assert vectorised(sup, ladder, assume_sign_off=True) == naive(sup, ladder, assume_sign_off=True)


@pytest.mark.slow
def test_the_naive_replay_under_the_own_ladder_is_the_recorded_decisions(recorded: tuple[Supervisor, Path]) -> None:
    sup, _ = recorded
    assert naive(sup, sup.ladder) == {p.proposal_id: p.decision.decision for p in stored(sup)}


# -- a candidate changes exactly what it should ------------------------------------------------------


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Supervisor, Path]:
    """The busy history every 7 minutes, shared by the tests that only replay it."""
    directory = tmp_path_factory.mktemp("busy")
    path = write_ladder(directory / "current.yaml")
    sup = Supervisor(ladder=load_ladder(path), ledger=directory / "ledger.duckdb")
    busy(sup, Clock(timedelta(minutes=7)))
    return sup, path


def recorded_where(sup: Supervisor, keep: Callable[[StoredProposal], bool]) -> set[str]:
    return {p.proposal_id for p in stored(sup) if keep(p)}


def runs(p: StoredProposal) -> bool:
    return p.decision.decision.may_run


def cost_over(limit: float) -> Callable[[StoredProposal], bool]:
    def over(p: StoredProposal) -> bool:
        try:
            return float(p.proposal.context.get("estimated_cost_usd", 0)) > limit
        except ValueError:
            return True
    return over


STRICTER: dict[str, tuple[dict[str, Any], Callable[[StoredProposal], bool]]] = {
    # at ceiling 1 every write needs a human: what ran at level 2 or 3 does not
    "sql.write ceiling 1": ({"action_types": {"sql.write": {"initial": 1, "ceiling": 1}}}, lambda p: runs(p) and p.assessment.action_type == "sql.write"),
    "a freeze over the span": (
        {"freezes": [{"start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z", "action_types": ["sql.*"]}]},
        lambda p: runs(p) and p.assessment.action_type.startswith("sql.") and p.assessment.writes,
    ),
    "cost ceiling 100": ({"escalations": {"cost_ceiling_usd": 100}}, lambda p: runs(p) and p.assessment.writes and cost_over(100)(p)),
    "confidence 0.95": ({"escalations": {"min_confidence": 0.95}}, lambda p: runs(p) and p.assessment.writes and (p.proposal.confidence or 0) < 0.95),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STRICTER))
def test_a_stricter_candidate_changes_only_the_expected_decisions(history: tuple[Supervisor, Path], name: str) -> None:
    sup, path = history
    overrides, expected = STRICTER[name]
    ladder = candidate(path, "stricter.yaml", **overrides)
    should = recorded_where(sup, expected)
    assert should, "the history has nothing this candidate would stop"
    assert changed_ids(sup, ladder) == should
    result = sup.simulate(ladder)
    assert result.changed == len(should)
    moved = {(t.before, t.after) for item in result.by_action_type for t in item.transitions}
    assert {after for _, after in moved} == {"require_approval"}
    assert result.needs_human_after > result.needs_human_before
    assert result.reviewer_load.per_day_after > result.reviewer_load.per_day_before
    examples = [e for item in result.by_action_type for e in item.examples]
    assert examples and {e.proposal_id for e in examples} <= should


@pytest.mark.slow
def test_raising_sql_write_to_level_3_lets_its_plain_writes_run(history: tuple[Supervisor, Path]) -> None:
    sup, path = history
    ladder = candidate(path, "raise.yaml", action_types={"sql.write": {"initial": 3, "ceiling": 3}})
    result = sup.simulate(ladder)
    everything = stored(sup)
    # only plain writes change: those that needed a human (or notified) because of their level alone
    plain = {p.proposal_id for p in everything if p.assessment.action_type == "sql.write" and {r.code for r in p.decision.reasons} == {"level"}}
    changed = changed_ids(sup, ladder)
    assert changed and changed <= plain
    # the first four ran at level 1 with a human's approval; at level 3 they run silently
    assert {p.proposal_id for p in everything[:4]} <= changed
    write = next(t for t in result.by_action_type if t.action_type == "sql.write")
    assert write.changed == result.changed == len(changed)
    assert {t.after for t in write.transitions} <= {"allow", "notify"} and write.after.get("allow", 0) > write.before.get("allow", 0)
    first = write.examples[0]
    assert first.after in ("allow", "notify") and first.reason is not None and first.reason.code == "level" and f"level {first.level}" in first.reason.message
    # at its ceiling the first sign-off is not due; the incident drops it, the second sign-off is due again, the manual demotion drops it
    assert result.skipped_sign_offs == 1
    assert [(c.from_level, c.to_level, c.reason) for c in result.level_changes if c.action_type == "sql.write"] == [(3, 2, "incident"), (2, 3, "promotion"), (3, 2, "manual")]
    assert next(lv for lv in result.levels if lv.action_type == "sql.write").replayed_level == 2
    assert result.needs_human_after < result.needs_human_before


@pytest.mark.slow
def test_assume_sign_off_promotes_as_soon_as_due(tmp_path: Path) -> None:
    path = write_ladder(tmp_path / "current.yaml", freezes=[])
    sup = Supervisor(ladder=load_ladder(path), ledger=tmp_path / "ledger.duckdb")
    clock = Clock(timedelta(minutes=10))
    ids = [run(sup, clock, sql(FIX)) for _ in range(8)]  # promotion is due after the third; nobody signs it off
    assert sup.simulate(sup.ladder).changed == 0
    result = sup.simulate(sup.ladder, assume_sign_off=True)
    assert [(c.from_level, c.to_level, c.reason, c.by) for c in result.level_changes] == [(1, 2, "promotion", None), (2, 3, "promotion", None)]
    assert changed_ids(sup, sup.ladder, assume_sign_off=True) == set(ids[3:])
    assert result.changed == 5 and result.assume_sign_off


@pytest.mark.slow
def test_since_replays_only_the_later_proposals_on_the_whole_history(history: tuple[Supervisor, Path]) -> None:
    sup, path = history
    everything = stored(sup)
    since = everything[len(everything) // 2].created_at
    ladder = candidate(path, "raise.yaml", action_types={"sql.write": {"initial": 3, "ceiling": 3}})
    later = sup.simulate(ladder, since=since)
    assert later.proposals == sum(p.created_at >= since for p in everything)
    assert later.first_proposal == since and later.since == since
    assert changed_ids(sup, ladder, since=since) == {pid for pid in changed_ids(sup, ladder) if next(p for p in everything if p.proposal_id == pid).created_at >= since}
    assert later.level_changes == sup.simulate(ladder).level_changes  # levels still come from the whole history


@pytest.mark.slow
def test_an_empty_ledger_replays_to_nothing(tmp_path: Path) -> None:
    sup = Supervisor(ladder=load_ladder(write_ladder(tmp_path / "current.yaml")), ledger=tmp_path / "ledger.duckdb")
    sup.ladder_status(now=T0)  # creates the ledger
    result = sup.simulate(sup.ladder)
    assert (result.proposals, result.changed, result.needs_human_before, result.signatures, result.by_action_type) == (0, 0, 0.0, 0, ())
    assert result.reviewer_load.wait_p50_minutes is None and result.first_proposal is None
    assert render_replay(result).startswith("no proposals to replay")


@pytest.mark.slow
def test_reviewer_load_uses_the_recorded_waits(tmp_path: Path) -> None:
    sup = Supervisor(ladder=load_ladder(write_ladder(tmp_path / "current.yaml")), ledger=tmp_path / "ledger.duckdb")
    for i, wait in enumerate((5, 10, 15, 20)):
        pid = sup.propose(sql(FIX), now=T0 + timedelta(days=i)).proposal_id
        sup.approve(pid, by="alice", now=T0 + timedelta(days=i, minutes=wait))
    load = sup.simulate(sup.ladder).reviewer_load
    assert (load.waits_recorded, load.wait_p50_minutes, load.wait_mean_minutes, load.days) == (4, 12.5, 12.5, 3.0)
    assert load.per_day_before == pytest.approx(4 / 3)
    assert load.waiting_before == pytest.approx(4 / 3 / 1440 * 12.5)


@pytest.mark.slow
def test_progress_reports_each_stage_in_order(history: tuple[Supervisor, Path]) -> None:
    sup, _ = history
    seen: list[tuple[str, int, int]] = []
    sup.simulate(sup.ladder, progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = list(dict.fromkeys(stage for stage, _, _ in seen))
    assert stages == ["reading the history", "replaying outcomes", "grouping proposals", "deciding"]
    assert all(0 <= done <= total for _, done, total in seen)
    assert seen[-1][1] == seen[-1][2]


# -- the command line --------------------------------------------------------------------------------


def test_simulate_takes_the_candidate_after_the_command_and_the_ladder_in_force_before_it() -> None:
    alone = build_parser().parse_args(["simulate", "--ladder", "candidate.yaml"])
    assert (alone.candidate, alone.ladder, alone.since, alone.assume_sign_off) == ("candidate.yaml", "trust_ladder.yaml", None, False)
    both = build_parser().parse_args(["--ladder", "current.yaml", "simulate", "--ladder", "candidate.yaml", "--since", "2026-03-01", "--json"])
    assert (both.candidate, both.ladder, both.since.isoformat(), both.json) == ("candidate.yaml", "current.yaml", "2026-03-01T00:00:00+00:00", True)


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["simulate"], "the following arguments are required: --ladder"), (["simulate", "--ladder", "x.yaml", "--since", "soon"], "'soon' is not a date or time")],
)
def test_simulate_usage_errors_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.slow
def test_simulate_json_has_the_contract_shape(history: tuple[Supervisor, Path], capsys: pytest.CaptureFixture[str]) -> None:
    sup, path = history
    cand = candidate(path, "raise.yaml", action_types={"sql.write": {"initial": 3, "ceiling": 3}})
    code = main(["--ledger", str(sup.store.path), "--ladder", str(path), "simulate", "--ladder", cand.source, "--json"])
    out = capsys.readouterr().out
    assert code == 0
    body = json.loads(out)
    assert {"proposals", "changed", "needs_human_before", "needs_human_after", "by_action_type"} <= set(body)
    assert body["proposals"] == len(stored(sup)) and body["changed"] > 0
    assert 0 <= body["needs_human_after"] < body["needs_human_before"] <= 1
    write = next(t for t in body["by_action_type"] if t["action_type"] == "sql.write")
    assert {"action_type", "changed", "before", "after"} <= set(write)
    assert sum(write["before"].values()) == sum(write["after"].values()) == write["proposals"]
    assert body["current_policy_version"] == sup.ladder.policy_version != body["policy_version"] == cand.policy_version


@pytest.mark.slow
def test_simulate_text_names_what_changes(history: tuple[Supervisor, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    sup, path = history
    cand = candidate(path, "raise.yaml", action_types={"sql.write": {"initial": 3, "ceiling": 3}})
    monkeypatch.chdir(path.parent)  # no ./trust_ladder.yaml here: the replay runs without the ladder in force
    assert main(["--ledger", str(sup.store.path), "simulate", "--ladder", cand.source]) == 0
    out, err = capsys.readouterr()
    result = sup.simulate(cand)
    write = next(t for t in result.by_action_type if t.action_type == "sql.write")
    assert f"sql.write: {write.changed} of {write.proposals} proposals change: " in out
    assert "require_approval -> allow" in out and "Reviewer load:" in out and "approvals per day before" in out
    assert err == ""  # a small run draws no progress


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such ladder file"), ("version: 1\naction_types: {sql.write: {initial: 4, ceiling: 3}}\n", "initial 4 is above ceiling 3"), ("version: [", "invalid YAML")],
)
def test_a_bad_candidate_is_one_line_exit_2(history: tuple[Supervisor, Path], capsys: pytest.CaptureFixture[str], content: str | None, message: str) -> None:
    sup, path = history
    bad = path.with_name("bad.yaml")
    if content is not None:
        bad.write_text(content)
    assert main(["--ledger", str(sup.store.path), "--ladder", str(path), "simulate", "--ladder", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"trustladder: error: {bad}") and message in err and err.count("\n") == 1


@pytest.mark.slow
def test_a_missing_ledger_is_a_usage_error_and_is_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_ladder(tmp_path / "current.yaml")
    assert main(["--ledger", str(tmp_path / "nope.duckdb"), "--ladder", str(path), "simulate", "--ladder", str(path)]) == 2
    assert "no ledger at" in capsys.readouterr().err and not (tmp_path / "nope.duckdb").exists()


# -- pieces ------------------------------------------------------------------------------------------


def test_the_progress_bar_draws_on_a_terminal_and_clears_after() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    with _ProgressBar(stream) as progress:
        progress.started -= 1  # a run long enough to show
        progress("grouping proposals", 500, 1000)
    drawn = stream.getvalue()
    assert "grouping proposals" in drawn and "500/1,000" in drawn and "#" * 15 + "." * 15 in drawn
    assert drawn.endswith("\r")


def test_the_progress_bar_prints_a_line_per_stage_for_large_runs_only() -> None:
    small, large = io.StringIO(), io.StringIO()
    for stream, total in ((small, 10), (large, 2_000_000)):
        with _ProgressBar(stream) as progress:
            for stage in ("replaying outcomes", "grouping proposals"):
                progress(stage, 0, total)
                progress(stage, total, total)
    assert small.getvalue() == ""
    assert [line.split(" (")[0] for line in large.getvalue().splitlines()] == ["trustladder simulate: replaying outcomes", "trustladder simulate: grouping proposals"]


def test_a_superseded_success_leaves_the_evidence_as_the_ledger_does() -> None:
    ladder = parse_ladder(
        yaml.safe_dump(merged(yaml.safe_load(LADDER.read_text()), {"action_types": {"sql.write": {"initial": 2, "ceiling": 3}}, "demotion": {"window": 4, "max_error_rate": 0.25}})).encode()
    )
    # four successes at level 2; the third is superseded by a failure: the window now holds one error in four (not over 25%)
    history = TypeHistory(action_type="sql.write", first_proposed=0, seqs=[1, 2, 3, 4, 5], keys=[1, 2, 3, 4, 5], ats=[1, 2, 3, 4, 5], codes=[0, 0, 0, 0, 1], supersedes={4: 2})
    timeline = replay_levels([history], ladder)
    assert timeline.changes == [] and timeline.final("sql.write", 2) == 2
    # a second failure superseding a success makes it two in four: over 25%, one level down
    history = TypeHistory(action_type="sql.write", first_proposed=0, seqs=[1, 2, 3, 4, 5, 6], keys=[1, 2, 3, 4, 5, 6], ats=[1, 2, 3, 4, 5, 6], codes=[0, 0, 0, 0, 1, 1], supersedes={4: 2, 5: 3})
    timeline = replay_levels([history], ladder)
    assert [(c.change.from_level, c.change.to_level, c.change.reason, c.key) for c in timeline.changes] == [(2, 1, "error_rate", 6)]

"""The trust-ladder loop through the Python API, on a real DuckDB ledger file in tmp_path."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from supervisor import ledger
from supervisor.approvals import ApprovalState
from supervisor.errors import ApprovalError, LedgerError, UsageError
from supervisor.models import Decision, Outcome
from supervisor.service import Supervisor
from supervisor.trust_ladder import load_ladder
from tests.supervisor.conftest import T0, action, sql, verify_after_edit

pytestmark = pytest.mark.slow
WRITE = "UPDATE shop.orders SET status = 'pending' WHERE status = 'stuck'"


def run_clean(sup: Supervisor, count: int, *, start: int = 0, text: str = WRITE, step: timedelta = timedelta(hours=3.5)) -> None:
    """Propose, approve when needed, clear and record success: the i-th at ``T0 + i * step``."""
    for i in range(start, start + count):
        now = T0 + step * i
        recorded = sup.propose(sql(text), now=now)
        if recorded.decision.decision is Decision.REQUIRE_APPROVAL:
            sup.approve(recorded.proposal_id, by="alice", now=now)
        assert sup.authorize(recorded.proposal_id, now=now).may_run
        sup.record_outcome(recorded.proposal_id, Outcome.SUCCESS, now=now)


def level_of(sup: Supervisor, action_type: str, now: object = None) -> int:
    return next(row.level for row in sup.ladder_status(now=now or T0 + timedelta(days=30)) if row.action_type == action_type)


def test_a_type_earns_promotion_with_sign_off_and_loses_it_on_one_incident(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor()
    run_clean(sup, 60)
    later = T0 + timedelta(days=9)
    row = next(r for r in sup.ladder_status(now=later) if r.action_type == "sql.write")
    assert (row.level, row.outcomes_at_level, row.successes, row.promotion_due, row.blockers) == (1, 60, 60, True, ())
    with pytest.raises(ApprovalError, match="signed off by group data-platform"):
        sup.promote("sql.write", by="mallory", now=later)
    change = sup.promote("sql.write", by="bob", now=later)
    assert (change.from_level, change.to_level, change.evidence["outcomes_at_level"]) == (1, 2, 60)
    recorded = sup.propose(sql(WRITE), now=later)
    assert recorded.decision.decision is Decision.NOTIFY and recorded.approval is None
    result = sup.record_outcome(recorded.proposal_id, Outcome.INCIDENT, note="locked the table", by="oncall", now=later)
    assert result.level_change is not None and (result.level_change.to_level, result.level_change.reason) == (1, "incident")
    assert sup.propose(sql(WRITE), now=later).decision.decision is Decision.REQUIRE_APPROVAL
    history = [(r["from_level"], r["to_level"], r["reason"]) for r in sup_history(sup, "sql.write")]
    assert history == [(1, 2, "promotion"), (2, 1, "incident")]


def sup_history(sup: Supervisor, action_type: str) -> list[dict[str, object]]:
    with sup.store.transaction() as db:
        return ledger.level_history(db, action_type)


def test_promotion_is_not_due_too_early_and_never_signed_off_early(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor(promotion={"min_outcomes": 12, "max_error_rate": 0.2})
    run_clean(sup, 12, step=timedelta(hours=6))
    row = next(r for r in sup.ladder_status(now=T0 + timedelta(days=3)) if r.action_type == "sql.write")
    assert not row.promotion_due and any("of 7 days" in b for b in row.blockers)
    with pytest.raises(UsageError, match="promotion of sql.write is not due: .*of 7 days at level 1"):
        sup.promote("sql.write", by="bob", now=T0 + timedelta(days=3))


def test_without_sign_off_promotion_happens_at_once_and_errors_demote(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor(promotion={"sign_off": False, "min_outcomes": 10, "max_error_rate": 0.3, "min_days_at_level": 0})
    run_clean(sup, 9, step=timedelta(minutes=1))
    assert level_of(sup, "sql.write") == 1
    run_clean(sup, 1, start=9, step=timedelta(minutes=1))
    assert level_of(sup, "sql.write") == 2
    # at level 2 (notify) failures pile up: the third in a window of 20 is over 10%
    for i in range(3):
        recorded = sup.propose(sql(WRITE), now=T0 + timedelta(days=2, minutes=i))
        assert recorded.decision.decision is Decision.NOTIFY
        result = sup.record_outcome(recorded.proposal_id, Outcome.FAILURE, now=T0 + timedelta(days=2, minutes=i))
    assert result.level_change is not None and result.level_change.reason == "error_rate"
    assert level_of(sup, "sql.write") == 1


def test_the_ceiling_holds_after_a_thousand_clean_drops(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor(promotion={"sign_off": False, "min_days_at_level": 0})
    recorded = sup.propose(sql("DROP TABLE shop.orders_backup"), now=T0 + timedelta(days=1))
    with sup.store.transaction() as db:  # a thousand earlier drops that all went well
        for i in range(1000):
            ledger.insert_outcome(db, proposal_id=f"bulk{i}", action_type="sql.drop", level=1, outcome=Outcome.SUCCESS, note=None, actor=None, now=T0 + timedelta(days=1))
    sup.approve(recorded.proposal_id, by="alice", now=T0 + timedelta(days=1))
    result = sup.record_outcome(recorded.proposal_id, Outcome.SUCCESS, now=T0 + timedelta(days=1))
    assert result.level_change is None
    row = next(r for r in sup.ladder_status(now=T0 + timedelta(days=30)) if r.action_type == "sql.drop")
    assert (row.level, row.outcomes_at_level, row.promotion_due, row.blockers) == (1, 1001, False, ("at its ceiling (1)",))
    again = sup.propose(sql("DROP TABLE shop.orders_backup"), now=T0 + timedelta(days=2))
    assert again.decision.decision is Decision.REQUIRE_APPROVAL


@pytest.mark.parametrize("who", ["fixer", "FIXER"])
def test_the_proposing_agent_cannot_approve_its_own_proposal(make_supervisor: Callable[..., Supervisor], who: str) -> None:
    sup = make_supervisor(approvals={"approvers": {"data-platform": ["alice", "fixer", "FIXER"]}})
    recorded = sup.propose(sql(WRITE), now=T0)
    with pytest.raises(ApprovalError, match=f"{who} proposed {recorded.proposal_id} and cannot approve"):
        sup.approve(recorded.proposal_id, by=who, now=T0)
    _, request, _ = sup.get(recorded.proposal_id)
    assert request is not None and request.state is ApprovalState.PENDING and request.votes == ()


def test_only_the_routed_group_approves_and_two_approvers_must_differ(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor(action_types={"sql.write": {"initial": 1, "ceiling": 3, "approvals_required": 2}})
    pid = sup.propose(sql(WRITE), now=T0).proposal_id
    with pytest.raises(ApprovalError, match="carol is not an approver .* group data-platform, whose members are alice, bob"):
        sup.approve(pid, by="carol", now=T0)
    assert sup.approve(pid, by="alice", now=T0).state is ApprovalState.PENDING
    with pytest.raises(ApprovalError, match="alice already voted"):
        sup.approve(pid, by="alice", now=T0)
    assert not sup.authorize(pid, now=T0).may_run
    assert sup.approve(pid, by="bob", now=T0).state is ApprovalState.APPROVED
    assert sup.authorize(pid, now=T0).may_run


def test_an_approval_is_void_for_a_different_statement(make_supervisor: Callable[..., Supervisor]) -> None:
    from supervisor.policy import proposal_hash

    sup = make_supervisor()
    pid = sup.propose(sql(WRITE), now=T0).proposal_id
    sup.approve(pid, by="alice", now=T0)
    changed = proposal_hash(sql(WRITE + " OR 1 = 1"))
    clearance = sup.authorize(pid, now=T0, proposal_hash=changed)
    assert not clearance.may_run and clearance.reasons[0].code == "changed"
    assert sup.authorize(pid, now=T0, proposal_hash=proposal_hash(sql(WRITE))).may_run


def test_an_approval_is_void_when_the_ladder_changes_its_decision(tmp_path: Path, ladder_file: Callable[..., Path]) -> None:
    db = tmp_path / "ledger.duckdb"
    before = Supervisor(ladder=load_ladder(ladder_file()), ledger=db)
    pid = before.propose(sql(WRITE), now=T0).proposal_id
    before.approve(pid, by="alice", now=T0)
    edited = ladder_file("edited.yaml", approvals={"timeout_minutes": 45})  # a new version, same decision
    assert Supervisor(ladder=load_ladder(edited), ledger=db).authorize(pid, now=T0).may_run
    pid = before.propose(sql(WRITE), now=T0).proposal_id
    before.approve(pid, by="alice", now=T0)
    owned = ladder_file("owned.yaml", ownership={"shop.*": "finance"})
    clearance = Supervisor(ladder=load_ladder(owned), ledger=db).authorize(pid, now=T0)
    assert not clearance.may_run and clearance.reasons[0].code == "approval_void"
    assert "owned by team finance" in clearance.reasons[0].message


def test_timeouts_escalate_then_expire_and_destructive_ones_expire_as_denied(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor()
    write = sup.propose(sql(WRITE), now=T0).proposal_id
    drop = sup.propose(sql("DROP TABLE shop.tmp"), now=T0).proposal_id
    assert sup.tick(now=T0 + timedelta(minutes=29)).model_dump() == {"escalated": (), "expired": (), "lapsed": ()}
    with pytest.raises(ApprovalError, match="timed out .* run 'trustladder tick'"):
        sup.approve(write, by="alice", now=T0 + timedelta(minutes=31))
    report = sup.tick(now=T0 + timedelta(minutes=31))
    assert [r.proposal_id for r in report.escalated] == [write] and report.escalated[0].group == "platform-leads"
    assert [r.proposal_id for r in report.expired] == [drop] and "destructive" in (report.expired[0].note or "")
    assert not sup.authorize(drop, now=T0 + timedelta(minutes=32)).may_run
    with pytest.raises(ApprovalError, match="already expired"):
        sup.approve(drop, by="alice", now=T0 + timedelta(minutes=32))
    with pytest.raises(ApprovalError, match="alice is not an approver"):
        sup.approve(write, by="alice", now=T0 + timedelta(minutes=32))
    report = sup.tick(now=T0 + timedelta(minutes=62))
    assert [r.proposal_id for r in report.expired] == [write]
    assert [p.proposal_id for p, _ in sup.queue()] == []


def test_escalated_request_can_be_approved_by_the_next_group(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor()
    pid = sup.propose(sql(WRITE), now=T0).proposal_id
    sup.tick(now=T0 + timedelta(minutes=31))
    assert sup.approve(pid, by="carol", now=T0 + timedelta(minutes=40)).state is ApprovalState.APPROVED


def test_freeze_window_needs_a_human_even_at_a_high_level(make_supervisor: Callable[..., Supervisor]) -> None:
    freeze = {"start": "2026-03-05T00:00:00Z", "end": "2026-03-06T00:00:00Z", "reason": "month-end close"}
    sup = make_supervisor(freezes=[freeze], action_types={"pipeline.retry_task": {"initial": 2, "ceiling": 2}})
    retry = action("retry_task", {"job": "daily_etl", "task": "load"})
    assert sup.propose(retry, now=T0).decision.decision is Decision.NOTIFY
    frozen = sup.propose(retry, now=T0 + timedelta(days=3, hours=12))
    assert frozen.decision.decision is Decision.REQUIRE_APPROVAL
    assert frozen.decision.reasons[0].message.startswith("month-end close: changes are frozen until 2026-03-06")


def test_cross_team_proposals_wait_for_a_human(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor(ownership={"finance.*": "finance"}, action_types={"sql.write": {"initial": 3, "ceiling": 3}})
    assert sup.propose(sql("INSERT INTO shop.orders VALUES (1)"), now=T0).decision.decision is Decision.ALLOW
    other = sup.propose(sql("INSERT INTO finance.ledger VALUES (1)"), now=T0)
    assert other.decision.decision is Decision.REQUIRE_APPROVAL and other.decision.reasons[0].code == "cross_team"
    assert [p.proposal_id for p, _ in sup.queue()] == [other.proposal_id]


def test_outcomes_need_a_cleared_proposal_and_only_an_incident_may_follow(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor()
    pid = sup.propose(sql(WRITE), now=T0).proposal_id
    with pytest.raises(UsageError, match="never cleared to run \\(pending\\)"):
        sup.record_outcome(pid, Outcome.SUCCESS, now=T0)
    sup.approve(pid, by="alice", now=T0)
    sup.record_outcome(pid, Outcome.SUCCESS, now=T0)
    with pytest.raises(UsageError, match="already has outcome 'success'"):
        sup.record_outcome(pid, Outcome.FAILURE, now=T0)
    sup.record_outcome(pid, Outcome.ROLLED_BACK, note="found bad rows a day later", now=T0 + timedelta(days=1))
    row = next(r for r in sup.ladder_status(now=T0) if r.action_type == "sql.write")
    assert (row.successes, row.rolled_back) == (0, 1)


def test_observe_mode_records_everything_and_clears_nothing(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor(mode="observe", action_types={"sql.write": {"initial": 3, "ceiling": 3}})
    recorded = sup.propose(sql(WRITE), now=T0)
    assert (recorded.decision.decision, recorded.decision.ladder_decision) == (Decision.DENY, Decision.ALLOW)
    assert recorded.approval is not None  # a human records what they would have decided
    assert not sup.authorize(recorded.proposal_id, now=T0).may_run
    assert [e.event for e in sup.audit_entries()] == ["proposal.created", "approval.requested", "execution.refused"]


TAMPER = [
    ("actor", "'someone-else'"),
    ("event", "'approval.approved'"),
    ("subject", "'another-id'"),
    ("payload", "replace(payload, 'alice', 'mallory')"),
    ("logged_at", "logged_at + INTERVAL 1 SECOND"),
    ("policy_version", "'0000'"),
]


@pytest.mark.parametrize(("column", "value"), TAMPER, ids=[c for c, _ in TAMPER])
def test_editing_any_audit_row_is_caught_at_that_row(make_supervisor: Callable[..., Supervisor], tmp_path: Path, column: str, value: str) -> None:
    sup = make_supervisor()
    pid = sup.propose(sql(WRITE), now=T0).proposal_id
    sup.approve(pid, by="alice", reason="looks right", now=T0)
    sup.record_outcome(pid, Outcome.SUCCESS, now=T0)
    report = sup.verify_audit()
    assert report.ok and report.entries == 5
    for seq in range(1, report.entries + 1):
        with duckdb.connect(str(tmp_path / "ledger.duckdb")) as raw:
            original = raw.execute(f"SELECT {column} FROM audit WHERE seq = ?", [seq]).fetchone()
            raw.execute(f"UPDATE audit SET {column} = {value} WHERE seq = ?", [seq])
            changed = raw.execute(f"SELECT {column} FROM audit WHERE seq = ?", [seq]).fetchone() != original
        if changed:
            broken = sup.verify_audit()
            assert (broken.ok, broken.first_bad_seq) == (False, seq), broken.problem
        with duckdb.connect(str(tmp_path / "ledger.duckdb")) as raw:
            raw.execute(f"UPDATE audit SET {column} = ? WHERE seq = ?", [original[0] if original else None, seq])
        assert sup.verify_audit().ok


def test_removing_an_audit_row_is_caught(make_supervisor: Callable[..., Supervisor], tmp_path: Path) -> None:
    sup = make_supervisor()
    for _ in range(3):
        sup.propose(sql(WRITE), now=T0)
    with duckdb.connect(str(tmp_path / "ledger.duckdb")) as raw:
        raw.execute("DELETE FROM audit WHERE seq = 3")
    report = sup.verify_audit()
    assert (report.ok, report.first_bad_seq) == (False, 3) and "removed or reordered" in (report.problem or "")


def test_ledger_survives_reopening_and_refuses_foreign_files(make_supervisor: Callable[..., Supervisor], tmp_path: Path) -> None:
    sup = make_supervisor()
    pid = sup.propose(sql(WRITE), now=T0).proposal_id
    reopened = Supervisor(ladder=sup.ladder, ledger=tmp_path / "ledger.duckdb")
    assert reopened.get(pid)[0].proposal.sql == WRITE
    with duckdb.connect(str(tmp_path / "ledger.duckdb")) as raw:
        raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(LedgerError, match="ledger schema 99 is newer than this trustladder understands"):
        reopened.queue()
    with duckdb.connect(str(tmp_path / "other.duckdb")) as raw:
        raw.execute("CREATE TABLE orders (id INT)")
    with pytest.raises(LedgerError, match="not a trustladder ledger"):
        Supervisor(ladder=sup.ladder, ledger=tmp_path / "other.duckdb").queue()
    (tmp_path / "text.duckdb").write_text("not a database")
    with pytest.raises(LedgerError, match="cannot open the ledger"):
        Supervisor(ladder=sup.ladder, ledger=tmp_path / "text.duckdb").queue()


@pytest.mark.parametrize(
    ("edit", "table"),
    [
        ("UPDATE outcomes SET outcome = 'success' WHERE outcome = 'failure'", "outcomes"),
        ("INSERT INTO level_changes VALUES (99, 'sql.write', 1, 3, 'promotion', '{}', 'mallory', TIMESTAMP '2026-03-03', 'x')", "level_changes"),
        ("UPDATE decisions SET decision = 'allow'", "decisions"),
    ],
)
def test_editing_the_rows_that_drive_the_ladder_is_caught(make_supervisor: Callable[..., Supervisor], tmp_path: Path, edit: str, table: str) -> None:
    report = verify_after_edit(make_supervisor(), tmp_path / "ledger.duckdb", edit)
    assert not report.ok and report.problem is not None and f"the {table} table disagrees with the audit trail" in report.problem


def test_an_approval_is_good_for_one_execution_within_valid_minutes(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor()
    unused = sup.propose(sql("UPDATE shop.orders SET status = 'placed' WHERE id = 1"), now=T0).proposal_id
    used = sup.propose(sql("UPDATE shop.orders SET status = 'placed' WHERE id = 2"), now=T0).proposal_id
    for pid in (unused, used):
        sup.approve(pid, by="alice", now=T0 + timedelta(minutes=1))
    assert sup.authorize(used, now=T0 + timedelta(minutes=2)).may_run
    again = sup.authorize(used, now=T0 + timedelta(minutes=3))
    assert not again.may_run and again.reasons[0].code == "already_executed"
    assert sup.tick(now=T0 + timedelta(hours=23)).lapsed == ()
    late = sup.authorize(unused, now=T0 + timedelta(hours=25))
    assert not late.may_run and late.reasons[0].code == "approval_expired"
    report = sup.tick(now=T0 + timedelta(hours=25))
    assert [r.proposal_id for r in report.lapsed] == [unused]  # the executed one is not lapsed
    assert sup.get(unused)[1].state.value == "expired"
    assert sup.launch_ready(now=T0 + timedelta(hours=25)).ready == ()


def test_a_notification_channel_delivers_each_entry_once_and_gives_up_after_failures(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor()
    sup.propose(sql("UPDATE shop.orders SET status = 'placed' WHERE id = 1"), now=T0)  # before the channel: not replayed
    assert sup.undelivered("slack", events=("approval.requested",), now=T0) == []
    first = sup.propose(sql("UPDATE shop.orders SET status = 'placed' WHERE id = 2"), now=T0).proposal_id
    second = sup.propose(sql("UPDATE shop.orders SET status = 'placed' WHERE id = 3"), now=T0).proposal_id
    pending = sup.undelivered("slack", events=("approval.requested",), now=T0)
    assert [(e.event, e.subject) for e in pending] == [("approval.requested", first), ("approval.requested", second)]
    sup.record_delivery("slack", pending[0].seq, ok=True, now=T0)
    for _ in range(3):
        assert [e.subject for e in sup.undelivered("slack", events=("approval.requested",), now=T0)] == [second]
        sup.record_delivery("slack", pending[1].seq, ok=False, detail="HTTP 500", now=T0)
    assert sup.undelivered("slack", events=("approval.requested",), now=T0) == []
    assert [e.subject for e in sup.undelivered("email", events=("approval.requested",), now=T0)] == []  # a new channel starts now
    with pytest.raises(UsageError, match="name at least one audit event"):
        sup.undelivered("slack", events=(), now=T0)


def test_one_tick_settles_many_requests_each_as_on_its_own(make_supervisor: Callable[..., Supervisor]) -> None:
    """A tick after an outage: escalations, expiries and lapsed approvals, written together, each
    end in the state a tick over that request alone gives it, and the audit trail names each."""
    sup = make_supervisor(action_types={"sql.schema_change": {"approvals_required": 2}})
    kinds = {
        "write": lambda i: sql(f"UPDATE shop.orders SET status = 'retry' WHERE id = {i}"),
        "drop": lambda i: sql(f"DROP TABLE scratch.tmp_{i}"),
        "approved": lambda i: sql(f"UPDATE shop.orders SET note = 'x' WHERE id = {i}"),
        "half-voted": lambda i: sql(f"ALTER TABLE shop.orders_{i} ADD COLUMN note VARCHAR"),
    }
    ids: dict[str, list[str]] = {kind: [] for kind in kinds}
    for i in range(12):
        for kind, make in kinds.items():
            pid = sup.propose(make(i), now=T0).proposal_id
            ids[kind].append(pid)
            if kind in ("approved", "half-voted"):
                sup.approve(pid, by="alice", now=T0)
    queued = {stored.proposal_id: request for stored, request in sup.queue()}
    assert set(queued) == {*ids["write"], *ids["drop"], *ids["half-voted"]}
    assert all([v.voter for v in queued[pid].votes] == ["alice"] for pid in ids["half-voted"])
    assert all(queued[pid].votes == () for pid in ids["write"] + ids["drop"])

    later = T0 + timedelta(days=2)
    report = sup.tick(now=later)
    assert sorted(r.proposal_id for r in report.escalated) == sorted(ids["write"] + ids["half-voted"])
    assert sorted(r.proposal_id for r in report.expired) == sorted(ids["drop"])
    assert sorted(r.proposal_id for r in report.lapsed) == sorted(ids["approved"])
    for request in (*report.escalated, *report.expired, *report.lapsed):
        _, stored, _ = sup.get(request.proposal_id)
        assert stored == request
    _, kept, _ = sup.get(ids["half-voted"][0])
    assert kept is not None and [v.voter for v in kept.votes] == ["alice"] and kept.group == "platform-leads"
    assert sup.verify_audit().ok
    events = Counter(entry.event for entry in sup.audit_entries())
    assert (events["approval.escalated"], events["approval.expired"], events["approval.lapsed"]) == (24, 12, 12)
    assert sup.tick(now=later).model_dump() == {"escalated": (), "expired": (), "lapsed": ()}

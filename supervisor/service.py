"""``Supervisor``: the one facade the CLI, Dagster and the HTTP API share.

One decision path (``classifiers.assess`` then ``supervisor.policy.decide``), one ledger, one audit
trail. Every method that changes anything does it in one short ledger transaction together with
its audit entries, which are appended to the chain together just before the transaction commits. Classification happens before the ledger is opened, so a slow parse never holds
the file. Callers pass ``now``; the facade reads no clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from classifiers.assessment import assess
from supervisor import audit, ledger
from supervisor.approvals import (
    ApprovalRequest,
    ApprovalState,
    cast_vote,
    on_timeout,
    open_request,
)
from supervisor.audit import AuditEntry, AuditReport
from supervisor.errors import ApprovalError, UsageError
from supervisor.ledger import StoredProposal
from supervisor.models import (
    Assessment,
    Decision,
    Model,
    Outcome,
    PolicyDecision,
    Proposal,
    Reason,
)
from supervisor.policy import decide
from supervisor.promotion import (
    LadderStatus,
    LevelChange,
    after_outcome,
    promotion,
    status,
)
from supervisor.store import Store
from supervisor.trust_ladder import Ladder, load_ladder


class Recorded(Model):
    """What ``propose`` recorded."""

    proposal_id: str = Field(description="The new proposal's id.")
    decision: PolicyDecision = Field(description="Its decision.")
    approval: ApprovalRequest | None = Field(default=None, description="The approval request, when it needs a human.")


class Clearance(Model):
    """The gate's answer at execution time: re-decided under the ladder in force now."""

    proposal_id: str = Field(description="The proposal.")
    may_run: bool = Field(description="Whether it may run now.")
    decision: PolicyDecision = Field(description="The decision under the current ladder and level.")
    reasons: tuple[Reason, ...] = Field(description="Why it may or may not run.")
    execution: int | None = Field(default=None, description="The recorded execution's number, when cleared.")


class OutcomeRecord(Model):
    """What recording an outcome did."""

    proposal_id: str = Field(description="The proposal.")
    outcome: Outcome = Field(description="What happened.")
    action_type: str = Field(description="Its action type.")
    level: int = Field(description="The level it counted at.")
    level_change: LevelChange | None = Field(default=None, description="A promotion or demotion it triggered.")


class TickReport(Model):
    """What ``tick`` did to timed-out approval requests."""

    escalated: tuple[ApprovalRequest, ...] = Field(default=(), description="Moved to the next group.")
    expired: tuple[ApprovalRequest, ...] = Field(default=(), description="Expired as denied.")


class Supervisor:
    """Propose, decide, approve, execute, record outcomes and audit, against one ladder and ledger.

    Args:
        ladder: the trust ladder (see ``supervisor.trust_ladder.load_ladder``).
        ledger: the ledger's DuckDB file.
        lock_timeout_s: how long to wait while another process holds the ledger.
    """

    def __init__(self, *, ladder: Ladder, ledger: str | Path, lock_timeout_s: float = 60.0) -> None:
        self.ladder = ladder
        self.store = Store(ledger, lock_timeout_s=lock_timeout_s)

    @classmethod
    def from_paths(cls, *, ladder: str | Path, ledger: str | Path) -> Supervisor:
        """Load the ladder file and open the ledger at these paths."""
        return cls(ladder=load_ladder(ladder), ledger=ledger)

    # -- deciding -------------------------------------------------------------------------------

    def assess(self, proposal: Proposal) -> Assessment:
        """Classify a proposal under this ladder's backfill limit."""
        return assess(proposal, backfill_max_hours=self.ladder.escalations.backfill_max_hours)

    def check(self, proposal: Proposal, *, now: datetime) -> PolicyDecision:
        """The decision for a proposal; records nothing."""
        assessment = self.assess(proposal)
        with self.store.transaction() as db:
            level = self._level(db, assessment.action_type)
        return decide(proposal, assessment, self.ladder, level=level, now=now)

    def propose(self, proposal: Proposal, *, now: datetime, proposal_id: str | None = None) -> Recorded:
        """Record a proposal and its decision; open an approval request when it needs a human."""
        assessment = self.assess(proposal)
        pid = proposal_id or uuid.uuid4().hex[:12]
        with self._recording() as (db, events):
            recorded, first_proposed = ledger.type_state(db, assessment.action_type)
            level = self.ladder.policy_for(assessment.action_type).initial if recorded is None else int(recorded)
            decision = decide(proposal, assessment, self.ladder, level=level, now=now)
            ledger.insert_proposal(db, proposal_id=pid, proposal=proposal, assessment=assessment, decision=decision, now=now, first_proposed=first_proposed)
            self._audit(events, "proposal.created", proposal.agent, pid, now, proposal=proposal.model_dump(mode="json"), decision=decision.model_dump(mode="json"))
            request = None
            if decision.decision is Decision.REQUIRE_APPROVAL:
                request = open_request(
                    proposal_id=pid,
                    action_type=assessment.action_type,
                    destructive=assessment.destructive,
                    proposal_hash=decision.proposal_hash,
                    ladder=self.ladder,
                    now=now,
                )
                ledger.insert_approval(db, request)
                self._audit(events, "approval.requested", "trustladder", pid, now, group=request.group, required=request.required, expires_at=request.expires_at)
        return Recorded(proposal_id=pid, decision=decision, approval=request)

    # -- humans ---------------------------------------------------------------------------------

    def queue(self) -> list[tuple[StoredProposal, ApprovalRequest]]:
        """Proposals awaiting a human, oldest first."""
        with self.store.transaction() as db:
            return ledger.queue(db)

    def get(self, proposal_id: str) -> tuple[StoredProposal, ApprovalRequest | None, list[dict[str, Any]]]:
        """A proposal, its approval request and its outcomes."""
        with self.store.transaction() as db:
            stored = self._stored(db, proposal_id)
            return stored, ledger.get_approval(db, proposal_id), ledger.outcomes_of(db, proposal_id)

    def approve(self, proposal_id: str, *, by: str, reason: str | None = None, now: datetime) -> ApprovalRequest:
        """One approver's yes; approved once enough distinct approvers said yes."""
        return self._vote(proposal_id, by=by, approve=True, reason=reason, now=now)

    def reject(self, proposal_id: str, *, by: str, reason: str, now: datetime) -> ApprovalRequest:
        """One approver's no: the request is rejected."""
        return self._vote(proposal_id, by=by, approve=False, reason=reason, now=now)

    def _vote(self, proposal_id: str, *, by: str, approve: bool, reason: str | None, now: datetime) -> ApprovalRequest:
        with self._recording() as (db, events):
            stored = self._stored(db, proposal_id)
            request = ledger.get_approval(db, proposal_id)
            if request is None:
                raise ApprovalError(f"proposal {proposal_id} was decided '{stored.decision.decision.value}' and has nothing to approve")
            updated = cast_vote(request, voter=by, approve=approve, reason=reason, agent=stored.proposal.agent, ladder=self.ladder, now=now)
            ledger.save_approval(db, updated, new_vote=updated.votes[-1])
            self._audit(events, "approval.vote", by, proposal_id, now, verdict=updated.votes[-1].verdict, reason=reason)
            if updated.state.is_final:
                self._audit(events, f"approval.{updated.state.value}", by, proposal_id, now, note=updated.note)
            return updated

    def tick(self, *, now: datetime) -> TickReport:
        """Escalate or expire approval requests past their time."""
        escalated: list[ApprovalRequest] = []
        expired: list[ApprovalRequest] = []
        with self._recording() as (db, events):
            for request in ledger.approvals_in_state(db, ApprovalState.PENDING):
                changed = on_timeout(request, ladder=self.ladder, now=now)
                if changed is None:
                    continue
                ledger.save_approval(db, changed)
                event = "approval.expired" if changed.state is ApprovalState.EXPIRED else "approval.escalated"
                self._audit(events, event, "trustladder", changed.proposal_id, now, group=changed.group, note=changed.note)
                (expired if changed.state is ApprovalState.EXPIRED else escalated).append(changed)
        return TickReport(escalated=tuple(escalated), expired=tuple(expired))

    # -- execution and outcomes -----------------------------------------------------------------

    def authorize(self, proposal_id: str, *, now: datetime, actor: str | None = None, proposal_hash: str | None = None) -> Clearance:
        """Re-decide a stored proposal at execution time and record the execution when cleared.

        An approval covers the exact action approved and the concerns its approver saw: a
        different statement, or a decision that now carries a reason the approved one did not
        (a ladder edit, a freeze window, a new owner), needs a new approval.
        """
        with self._recording() as (db, events):
            stored = self._stored(db, proposal_id)
            fresh = decide(stored.proposal, stored.assessment, self.ladder, level=self._level(db, stored.assessment.action_type), now=now)
            refusal = self._refusal(db, stored, fresh, proposal_hash)
            if refusal is not None:
                self._audit(events, "execution.refused", actor, proposal_id, now, reasons=[refusal.model_dump()])
                return Clearance(proposal_id=proposal_id, may_run=False, decision=fresh, reasons=(refusal,))
            seq = ledger.insert_execution(db, proposal_id=proposal_id, actor=actor, decision=fresh, now=now)
            self._audit(events, "execution.cleared", actor, proposal_id, now, execution=seq, decision=fresh.decision.value, level=fresh.level)
            return Clearance(proposal_id=proposal_id, may_run=True, decision=fresh, reasons=fresh.reasons, execution=seq)

    def _refusal(self, db: Any, stored: StoredProposal, fresh: PolicyDecision, proposal_hash: str | None) -> Reason | None:
        if proposal_hash is not None and proposal_hash != stored.decision.proposal_hash:
            return Reason(code="changed", message="the action differs from the proposal's; propose the new statement to get a decision")
        if fresh.mode == "observe":
            return Reason(code="observe_mode", message="the ladder is in observe mode: nothing runs")
        if fresh.decision is Decision.DENY:
            return fresh.reasons[0]
        if fresh.decision.may_run:
            return None
        request = ledger.get_approval(db, stored.proposal_id)
        if request is None or request.state is not ApprovalState.APPROVED:
            state = request.state.value if request else "not requested"
            return Reason(code="not_approved", message=f"it needs approval and its approval is {state}")
        if request.proposal_hash != fresh.proposal_hash:
            return Reason(code="changed", message="the approved action differs from this one; propose it again")
        seen = {r.code for r in stored.decision.reasons}
        new = [r for r in fresh.reasons if r.code not in seen and r.code != "level"]
        if new:
            return Reason(code="approval_void", message=f"the decision changed since it was approved ({new[0].message}); propose it again")
        return None

    def record_outcome(self, proposal_id: str, outcome: Outcome, *, note: str | None = None, by: str | None = None, now: datetime) -> OutcomeRecord:
        """Record what happened when a proposal ran, and apply any demotion or promotion it triggers."""
        with self._recording() as (db, events):
            stored = self._stored(db, proposal_id)
            self._check_cleared(db, stored)
            earlier = [row for row in ledger.outcomes_of(db, proposal_id) if not row["superseded"]]
            if earlier and not (outcome.is_severe and not Outcome(earlier[-1]["outcome"]).is_severe):
                raise UsageError(
                    f"proposal {proposal_id} already has outcome '{earlier[-1]['outcome']}'; only an incident or rollback may follow a success or failure"
                )
            action_type = stored.assessment.action_type
            level = min(self._level(db, action_type), self.ladder.policy_for(action_type).ceiling)
            ledger.insert_outcome(db, proposal_id=proposal_id, action_type=action_type, level=level, outcome=outcome, note=note, actor=by, now=now)
            self._audit(events, "outcome.recorded", by, proposal_id, now, outcome=outcome.value, level=level, note=note)
            found = self._evidence(db, action_type)
            change = after_outcome(found, outcome, self.ladder, now=now)
            if change is not None:
                self._change_level(db, events, change, actor=None, now=now)
            return OutcomeRecord(proposal_id=proposal_id, outcome=outcome, action_type=action_type, level=level, level_change=change)

    def _check_cleared(self, db: Any, stored: StoredProposal) -> None:
        if ledger.executions_of(db, stored.proposal_id) or stored.decision.decision.may_run:
            return
        request = ledger.get_approval(db, stored.proposal_id)
        if request is not None and request.state is ApprovalState.APPROVED:
            return
        state = request.state.value if request else stored.decision.decision.value
        raise UsageError(f"proposal {stored.proposal_id} was never cleared to run ({state}); an outcome needs an approved or allowed proposal")

    # -- the ladder -----------------------------------------------------------------------------

    def ladder_status(self, *, now: datetime) -> list[LadderStatus]:
        """Every configured or seen action type: level, ceiling, outcomes, whether promotion is due."""
        with self.store.transaction() as db:
            found = self._evidence_all(db)
        return [status(found[name], self.ladder, now=now) for name in sorted(found)]

    def promote(self, action_type: str, *, by: str, now: datetime) -> LevelChange:
        """A platform approver's sign-off on a due promotion."""
        self._check_ladder_approver(by, "promote")
        with self._recording() as (db, events):
            found = self._evidence(db, action_type)
            current = status(found, self.ladder, now=now)
            if not current.promotion_due:
                raise UsageError(f"promotion of {action_type} is not due: {'; '.join(current.blockers)}")
            change = promotion(found, current, by=by)
            self._change_level(db, events, change, actor=by, now=now)
            return change

    def demote(self, action_type: str, *, by: str, reason: str, now: datetime) -> LevelChange:
        """A platform approver drops a type one level."""
        self._check_ladder_approver(by, "demote")
        if not reason.strip():
            raise UsageError("a demotion needs a reason; pass --reason TEXT")
        with self._recording() as (db, events):
            found = self._evidence(db, action_type)
            level = min(found.level, self.ladder.policy_for(action_type).ceiling)
            if level <= 1:
                raise UsageError(f"{action_type} is already at level 1")
            change = LevelChange(
                action_type=action_type,
                from_level=level,
                to_level=level - 1,
                reason="manual",
                message=f"demoted by {by}: {reason}",
                evidence={"level": found.level, "outcomes_at_level": found.outcomes_at_level, "errors_at_level": found.errors_at_level},
            )
            self._change_level(db, events, change, actor=by, now=now)
            return change

    def _check_ladder_approver(self, by: str, verb: str) -> None:
        group = self.ladder.ladder_group()
        members = self.ladder.approvers_of(group)
        if by not in members:
            who = ", ".join(members) or "nobody"
            raise ApprovalError(f"{by} cannot {verb} action types: level changes are signed off by group {group} ({who}); set approvals.ladder_group")

    def _change_level(self, db: Any, events: list[audit.Event], change: LevelChange, *, actor: str | None, now: datetime) -> None:
        ledger.insert_level_change(db, change, actor=actor, policy_version=self.ladder.policy_version, now=now)
        self._audit(events, "level.changed", actor or "trustladder", change.action_type, now, **change.model_dump(mode="json"))

    # -- audit ----------------------------------------------------------------------------------

    def verify_audit(self) -> AuditReport:
        """Recompute the audit chain."""
        with self.store.transaction() as db:
            return audit.verify(db)

    def audit_entries(self) -> Iterator[AuditEntry]:
        """Every audit entry in order (read in one transaction, then yielded)."""
        with self.store.transaction() as db:
            found = list(audit.entries(db))
        yield from found

    # -- helpers --------------------------------------------------------------------------------

    def _stored(self, db: Any, proposal_id: str) -> StoredProposal:
        stored = ledger.get_proposal(db, proposal_id)
        if stored is None:
            raise UsageError(f"no proposal {proposal_id!r} in {self.store.path}; list pending ones with 'trustladder queue'")
        return stored

    def _level(self, db: Any, action_type: str) -> int:
        row = db.execute("SELECT arg_max(to_level, seq) FROM level_changes WHERE action_type = ?", [action_type]).fetchone()
        return int(row[0]) if row and row[0] is not None else self.ladder.policy_for(action_type).initial

    def _initial(self) -> dict[str, int]:
        return {name: policy.initial for name, policy in self.ladder.action_types.items()}

    def _window(self) -> int:
        return max([self.ladder.demotion.window, *(p.demotion.window or 0 for p in self.ladder.action_types.values())])

    def _evidence(self, db: Any, action_type: str) -> Any:
        return ledger.evidence(db, self._initial(), window=self._window(), action_type=action_type)[action_type]

    def _evidence_all(self, db: Any) -> dict[str, Any]:
        return ledger.evidence(db, self._initial(), window=self._window())

    @contextmanager
    def _recording(self) -> Iterator[tuple[Any, list[audit.Event]]]:
        """A ledger transaction and the audit events it records, appended to the chain together before it commits."""
        with self.store.transaction() as db:
            events: list[audit.Event] = []
            yield db, events
            audit.append_all(db, events)

    def _audit(self, events: list[audit.Event], event: str, actor: str | None, subject: str | None, now: datetime, **payload: Any) -> None:
        events.append(audit.Event(event=event, actor=actor, subject=subject, payload=payload, policy_version=self.ladder.policy_version, at=now))

"""``Supervisor``: the one facade the CLI, Dagster and the HTTP API share.

One decision path (``classifiers.assess`` then ``supervisor.policy.decide``), one ledger, one audit
trail. Every method that changes anything does it in one short ledger transaction together with
its audit entries, which are appended to the chain together just before the transaction commits.
Classification happens before the ledger is opened, so a slow parse never holds the file. Callers pass ``now``; the facade reads no clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import Field

from classifiers.assessment import assess
from classifiers.pretty import pretty_sql
from supervisor import audit, ledger, replay
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
from supervisor.packet import Measurement, Packet, build_packet
from supervisor.policy import decide
from supervisor.promotion import (
    LadderStatus,
    LevelChange,
    after_outcome,
    promotion,
    status,
)
from supervisor.report import DEMOTION_DAYS, TOP_REASONS, Report, build_report
from supervisor.report_queries import gather
from supervisor.replay_report import Replay
from supervisor.review import SampledReview, Verdict, sample
from supervisor.standing import StandingApproval
from supervisor.store import Store
from supervisor.trust_ladder import Ladder, load_ladder

# Measures a stored proposal's blast radius on a warehouse: the measurement and the rollback options it offers.
Measurer = Callable[[StoredProposal], tuple[Measurement | None, tuple[str, ...]]]


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


class Ready(Model):
    """A proposal the gate handed to an orchestrator to run."""

    proposal_id: str = Field(description="The proposal; also the run key.")
    proposal: Proposal = Field(description="What to run.")
    action_type: str = Field(description="Its action type.")
    decision: PolicyDecision = Field(description="Its decision under the ladder in force now.")
    ready_at: datetime = Field(description="When it became ready: proposed (allow, notify) or approved.")


class Blocked(Model):
    """A proposal that was ready once and may not run now."""

    proposal_id: str = Field(description="The proposal.")
    reason: Reason = Field(description="Why not.")


class LaunchBatch(Model):
    """What one pass of the launcher found."""

    ready: tuple[Ready, ...] = Field(default=(), description="Recorded as launched; the caller must start one run each.")
    blocked: tuple[Blocked, ...] = Field(default=(), description="Cleared earlier, refused now (a freeze window, a ladder edit).")
    pending: int = Field(default=0, description="Proposals waiting for a human.")
    cursor: str | None = Field(default=None, description="Where the next pass resumes when there is a backlog.")


class RunRecord(Model):
    """What recording a finished orchestrator run did."""

    run_id: str = Field(description="The run.")
    proposal_id: str = Field(description="The proposal it was launched for.")
    recorded: bool = Field(description="False when this run's result was already recorded.")
    executed: bool = Field(description="Whether the run was cleared and executed the proposal.")
    outcome: OutcomeRecord | None = Field(default=None, description="The outcome it counted as, when it executed.")


class ReviewResult(Model):
    """A recorded review verdict, and the incident it counted as when it was bad."""

    review: SampledReview = Field(description="The review with its verdict.")
    outcome: OutcomeRecord | None = Field(default=None, description="The incident recorded for a bad verdict (None when good, or already an incident).")


class TickReport(Model):
    """What ``tick`` did to timed-out approval requests."""

    escalated: tuple[ApprovalRequest, ...] = Field(default=(), description="Moved to the next group.")
    expired: tuple[ApprovalRequest, ...] = Field(default=(), description="Expired as denied.")
    lapsed: tuple[ApprovalRequest, ...] = Field(default=(), description="Approved but not run within approvals.valid_minutes.")


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

    @contextmanager
    def held(self) -> Iterator[Supervisor]:
        """Keep the ledger attached across the operations inside, for a batch job (a replay, the demo).

        Every other process waits for the ledger until the block ends: never use it in a server
        or around anything that waits on people or networks.
        """
        with self.store.held():
            yield self

    # -- deciding -------------------------------------------------------------------------------

    def assess(self, proposal: Proposal) -> Assessment:
        """Classify a proposal under this ladder's backfill limit."""
        return assess(proposal, backfill_max_hours=self.ladder.escalations.backfill_max_hours)

    def check(self, proposal: Proposal, *, now: datetime) -> PolicyDecision:
        """The decision for a proposal; records nothing."""
        assessment = self.assess(proposal)
        with self.store.transaction() as db:
            return self._decide(db, proposal, assessment, now)

    def propose(self, proposal: Proposal, *, now: datetime, proposal_id: str | None = None) -> Recorded:
        """Record a proposal and its decision; open an approval request when it needs a human."""
        assessment = self.assess(proposal)
        pid = proposal_id or uuid.uuid4().hex[:12]
        with self._recording() as (db, events):
            state = ledger.type_state(db, assessment.action_type, now=now)
            decision = self._decide(db, proposal, assessment, now, state=state)
            ledger.insert_proposal(db, proposal_id=pid, proposal=proposal, assessment=assessment, decision=decision, now=now, first_proposed=state.first_proposed)
            self._audit(events, "proposal.created", proposal.agent, pid, now, proposal=proposal.model_dump(mode="json"), decision=decision.model_dump(mode="json"))
            request = None
            if decision.decision is Decision.REQUIRE_APPROVAL or _observed(decision, assessment):
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

    def packet(self, proposal_id: str, *, measure: Measurer | None = None) -> Packet:
        """The approval packet of a proposal; ``measure`` adds the blast radius measured on a warehouse.

        The ledger is read in one transaction and released before ``measure`` runs, so a slow
        warehouse never holds the ledger.
        """
        stored, request, outcomes = self.get(proposal_id)
        measurement, options = measure(stored) if measure is not None else (None, ())
        pretty = pretty_sql(stored.proposal.sql, dialect=stored.proposal.dialect) if stored.proposal.sql is not None else None
        return build_packet(stored, request, outcomes, pretty_sql=pretty, measurement=measurement, rollback_options=options)

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
        """Escalate or expire approval requests past their time, and lapse approvals left unused."""
        escalated: list[ApprovalRequest] = []
        expired: list[ApprovalRequest] = []
        lapsed: list[ApprovalRequest] = []
        with self._recording() as (db, events):
            due, unused = ledger.approvals_due(db, now=now, valid_minutes=self.ladder.approvals.valid_minutes)
            for request in unused:
                minutes = self.ladder.approvals.valid_minutes
                changed = request.model_copy(update={"state": ApprovalState.EXPIRED, "note": f"approved but not run within {minutes:g} minutes; propose it again"})
                self._audit(events, "approval.lapsed", "trustladder", changed.proposal_id, now, note=changed.note)
                lapsed.append(changed)
            for request in due:
                changed = on_timeout(request, ladder=self.ladder, now=now)
                if changed is None:
                    continue
                event = "approval.expired" if changed.state is ApprovalState.EXPIRED else "approval.escalated"
                self._audit(events, event, "trustladder", changed.proposal_id, now, group=changed.group, note=changed.note)
                (expired if changed.state is ApprovalState.EXPIRED else escalated).append(changed)
            ledger.save_approvals(db, [*lapsed, *expired, *escalated])
        return TickReport(escalated=tuple(escalated), expired=tuple(expired), lapsed=tuple(lapsed))

    def _approval_lapsed(self, request: ApprovalRequest, now: datetime) -> bool:
        granted = request.resolved_at or request.created_at
        return now > granted + timedelta(minutes=self.ladder.approvals.valid_minutes)

    # -- execution and outcomes -----------------------------------------------------------------

    def authorize(
        self,
        proposal_id: str,
        *,
        now: datetime,
        actor: str | None = None,
        proposal_hash: str | None = None,
        run_id: str | None = None,
        strict: bool = False,
    ) -> Clearance:
        """Re-decide a stored proposal at execution time and record the execution when cleared.

        An approval covers the exact action approved, once, within ``approvals.valid_minutes``,
        and the concerns its approver saw: a different statement, or a decision that now carries
        a reason the approved one did not (a ladder edit, a freeze window, a new owner), needs a
        new approval.

        Args:
            proposal_id: the proposal about to run.
            now: the time of execution.
            actor: who or what executes it.
            proposal_hash: the hash of what is about to run; a different one is refused.
            run_id: the orchestrator run executing it; its result is recorded with ``record_run``.
            strict: the caller was launched to execute this proposal, so a refusal is a policy
                violation: audited as one, and the type drops a level when
                ``demotion.on_violation`` says so.
        """
        with self._recording() as (db, events):
            stored = self._stored(db, proposal_id)
            fresh = self._decide(db, stored.proposal, stored.assessment, now)
            refusal = self._refusal(db, stored, fresh, proposal_hash, now=now)
            if refusal is not None:
                if strict:
                    self._violation(db, events, stored, refusal, actor=actor, run_id=run_id, now=now)
                else:
                    self._audit(events, "execution.refused", actor, proposal_id, now, reasons=[refusal.model_dump()], run_id=run_id)
                return Clearance(proposal_id=proposal_id, may_run=False, decision=fresh, reasons=(refusal,))
            seq = ledger.insert_execution(db, proposal_id=proposal_id, actor=actor, decision=fresh, now=now)
            if run_id is not None:
                ledger.insert_run(db, run_id=run_id, proposal_id=proposal_id, cleared_at=now)
            self._audit(events, "execution.cleared", actor, proposal_id, now, execution=seq, decision=fresh.decision.value, level=fresh.level, run_id=run_id)
            share = sample(proposal_id, stored.assessment, fresh, self.ladder)
            if share is not None:
                group = self.ladder.review_group(stored.assessment.action_type)
                queued = SampledReview(proposal_id=proposal_id, action_type=stored.assessment.action_type, level=fresh.level, share=share, group=group, sampled_at=now)
                ledger.insert_review(db, queued)
                self._audit(events, "review.sampled", "trustladder", proposal_id, now, level=fresh.level, share=share, group=group)
            return Clearance(proposal_id=proposal_id, may_run=True, decision=fresh, reasons=fresh.reasons, execution=seq)

    def _violation(self, db: Any, events: list[audit.Event], stored: StoredProposal, refusal: Reason, *, actor: str | None, run_id: str | None, now: datetime) -> None:
        action_type = stored.assessment.action_type
        self._audit(events, "policy.violation", actor, stored.proposal_id, now, action_type=action_type, reasons=[refusal.model_dump()], run_id=run_id)
        if not self.ladder.demotion_for(action_type).on_violation:
            return
        found = self._evidence(db, action_type)
        level = min(found.level, self.ladder.policy_for(action_type).ceiling)
        if level > 1:
            change = LevelChange(
                action_type=action_type,
                from_level=level,
                to_level=level - 1,
                reason="violation",
                message=f"an execution the gate refused was attempted ({refusal.code}: {refusal.message})",
                evidence={"proposal_id": stored.proposal_id, "run_id": run_id, "refusal": refusal.code},
            )
            self._change_level(db, events, change, actor=None, now=now)

    def _refusal(self, db: Any, stored: StoredProposal, fresh: PolicyDecision, proposal_hash: str | None, *, now: datetime) -> Reason | None:
        if proposal_hash is not None and proposal_hash != stored.decision.proposal_hash:
            return Reason(code="changed", message="the action differs from the proposal's; propose the new statement to get a decision")
        if ledger.executions_of(db, stored.proposal_id):
            return Reason(code="already_executed", message="it was already executed once; propose it again to run it again")
        if fresh.mode == "observe":
            return Reason(code="observe_mode", message="the ladder is in observe mode: nothing runs")
        if stored.decision.mode == "observe":
            return Reason(code="observe_mode", message="it was proposed in observe mode, where verdicts are only recorded; propose it again")
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
        if self._approval_lapsed(request, now):
            minutes = self.ladder.approvals.valid_minutes
            return Reason(code="approval_expired", message=f"it was approved more than {minutes:g} minutes ago (approvals.valid_minutes); propose it again")
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
            refusal = self._outcome_refusal(db, proposal_id, outcome)
            if refusal is not None:
                raise UsageError(refusal)
            return self._record_outcome(db, events, stored, outcome, note=note, by=by, now=now)

    def _outcome_refusal(self, db: Any, proposal_id: str, outcome: Outcome) -> str | None:
        earlier = [row for row in ledger.outcomes_of(db, proposal_id) if not row["superseded"]]
        if earlier and not (outcome.is_severe and not Outcome(earlier[-1]["outcome"]).is_severe):
            return f"proposal {proposal_id} already has outcome '{earlier[-1]['outcome']}'; only an incident or rollback may follow a success or failure"
        return None

    def _record_outcome(self, db: Any, events: list[audit.Event], stored: StoredProposal, outcome: Outcome, *, note: str | None, by: str | None, now: datetime) -> OutcomeRecord:
        action_type = stored.assessment.action_type
        level = min(self._level(db, action_type), self.ladder.policy_for(action_type).ceiling)
        ledger.insert_outcome(db, proposal_id=stored.proposal_id, action_type=action_type, level=level, outcome=outcome, note=note, actor=by, now=now)
        self._audit(events, "outcome.recorded", by, stored.proposal_id, now, outcome=outcome.value, level=level, note=note)
        found = self._evidence(db, action_type)
        change = after_outcome(found, outcome, self.ladder, now=now)
        if change is not None:
            self._change_level(db, events, change, actor=None, now=now)
        return OutcomeRecord(proposal_id=stored.proposal_id, outcome=outcome, action_type=action_type, level=level, level_change=change)

    def _check_cleared(self, db: Any, stored: StoredProposal) -> None:
        if ledger.executions_of(db, stored.proposal_id) or stored.decision.decision.may_run:
            return
        request = ledger.get_approval(db, stored.proposal_id)
        if request is not None and request.state is ApprovalState.APPROVED:
            return
        state = request.state.value if request else stored.decision.decision.value
        raise UsageError(f"proposal {stored.proposal_id} was never cleared to run ({state}); an outcome needs an approved or allowed proposal")

    # -- sampled review -------------------------------------------------------------------------

    def reviews(self, *, pending: bool | None = True) -> list[SampledReview]:
        """Sampled executions: awaiting review (default), reviewed (False) or all (None)."""
        with self.store.transaction() as db:
            return ledger.reviews(db, pending=pending)

    def review(self, proposal_id: str, verdict: Verdict, *, by: str, note: str | None = None, now: datetime) -> ReviewResult:
        """A reviewer's verdict on a sampled execution; ``bad`` counts as an incident for its type."""
        with self._recording() as (db, events):
            stored = self._stored(db, proposal_id)
            found = ledger.reviews(db, proposal_id=proposal_id)
            if not found:
                raise UsageError(f"proposal {proposal_id} was not sampled for review; list the queue with 'trustladder review'")
            queued = found[0]
            if queued.verdict is not None:
                raise ApprovalError(f"proposal {proposal_id} was already reviewed ({queued.verdict.value} by {queued.reviewed_by})")
            if stored.proposal.agent is not None and by.casefold() == stored.proposal.agent.casefold():
                raise ApprovalError(f"{by} proposed {proposal_id} and cannot review it; ask someone in group {queued.group}")
            members = self.ladder.approvers_of(queued.group)
            if by not in members:
                who = ", ".join(members) or "nobody (add people under approvals.approvers in the ladder)"
                raise ApprovalError(f"{by} is not in group {queued.group}, which reviews {queued.action_type}: {who}")
            if verdict is Verdict.BAD and not (note or "").strip():
                raise UsageError("a bad verdict needs a note saying what was wrong; pass --note TEXT")
            done = queued.model_copy(update={"verdict": verdict, "reviewed_by": by, "reviewed_at": now, "note": note})
            ledger.save_review(db, done)
            self._audit(events, "review.recorded", by, proposal_id, now, verdict=verdict.value, note=note)
            outcome = None
            latest = [row for row in ledger.outcomes_of(db, proposal_id) if not row["superseded"]]
            if verdict is Verdict.BAD and not (latest and Outcome(latest[-1]["outcome"]).is_severe):
                outcome = self._record_outcome(db, events, stored, Outcome.INCIDENT, note=f"sampled review by {by}: {note}", by=by, now=now)
            return ReviewResult(review=done, outcome=outcome)

    # -- orchestrators --------------------------------------------------------------------------

    def launch_ready(self, *, now: datetime, limit: int = 50, cursor: str | None = None, by: str | None = None) -> LaunchBatch:
        """Hand over proposals that may run now, each once: allowed, notify, or approved.

        Each candidate is re-decided under the ladder in force; those that clear are recorded as
        launched in the same transaction (the caller starts one run each, keyed by proposal id),
        the rest are reported as blocked and stay candidates. At most ``limit`` candidates are
        looked at per call, resuming after ``cursor`` and wrapping round, so a backlog is worked
        through in bounded steps.
        """
        if limit < 1:
            raise UsageError(f"limit must be at least 1, got {limit}")
        after = _parse_cursor(cursor)
        ready: list[Ready] = []
        blocked: list[Blocked] = []
        with self._recording() as (db, events):
            candidates = ledger.ready_candidates(db, after=after, limit=limit)
            if after is not None and len(candidates) < limit:
                seen = {pid for pid, _ in candidates}
                candidates += [c for c in ledger.ready_candidates(db, after=None, limit=limit - len(candidates)) if c[0] not in seen]
            for pid, ready_at in candidates:
                stored = self._stored(db, pid)
                fresh = self._decide(db, stored.proposal, stored.assessment, now)
                refusal = self._refusal(db, stored, fresh, None, now=now)
                if refusal is not None:
                    blocked.append(Blocked(proposal_id=pid, reason=refusal))
                    continue
                if not ledger.insert_launch(db, proposal_id=pid, run_key=pid, by=by, now=now):
                    # Only a ledger edited outside trustladder lists a launched proposal as open.
                    blocked.append(Blocked(proposal_id=pid, reason=Reason(code="already_launched", message="a run was already requested for it")))
                    continue
                self._audit(events, "execution.launched", by, pid, now, run_key=pid, decision=fresh.decision.value)
                ready.append(Ready(proposal_id=pid, proposal=stored.proposal, action_type=stored.assessment.action_type, decision=fresh, ready_at=ready_at))
            row = db.execute("SELECT count(*) FROM approvals WHERE state = 'pending'").fetchone()
        next_cursor = f"{candidates[-1][1].isoformat()}|{candidates[-1][0]}" if len(candidates) >= limit else None
        return LaunchBatch(ready=tuple(ready), blocked=tuple(blocked), pending=int(row[0]) if row else 0, cursor=next_cursor)

    def launched_without_run(self, *, limit: int = 100) -> list[tuple[str, str, datetime]]:
        """Launched proposals no run has reported on yet: (proposal id, run key, requested at)."""
        with self.store.transaction() as db:
            return ledger.launches_without_run(db, limit=limit)

    def unfinished_runs(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """Runs recorded as executing a proposal whose result is not in yet: (run id, proposal id)."""
        with self.store.transaction() as db:
            return ledger.unfinished_runs(db, limit=limit)

    def record_run(self, run_id: str, *, succeeded: bool, status: str, now: datetime, proposal_id: str | None = None) -> list[RunRecord]:
        """Record how an orchestrator run ended; idempotent by run id.

        Each proposal the run was cleared to execute (``authorize`` with its ``run_id``) gets a
        success or failure outcome for its type. ``proposal_id`` names the proposal the run was
        launched for: if the run never got past the gate for it, that is recorded too, and counts
        as no outcome.
        """
        records: list[RunRecord] = []
        with self._recording() as (db, events):
            found = ledger.runs_of(db, run_id)
            if proposal_id is not None and proposal_id not in {row["proposal_id"] for row in found}:
                self._stored(db, proposal_id)
                ledger.insert_run(db, run_id=run_id, proposal_id=proposal_id, cleared_at=None)
                found = ledger.runs_of(db, run_id)
            for row in found:
                pid, executed = row["proposal_id"], row["cleared_at"] is not None
                if row["finished_at"] is not None:
                    records.append(RunRecord(run_id=run_id, proposal_id=pid, recorded=False, executed=executed))
                    continue
                outcome = (Outcome.SUCCESS if succeeded else Outcome.FAILURE) if executed else None
                ledger.finish_run(db, run_id=run_id, proposal_id=pid, status=status, outcome=outcome, now=now)
                self._audit(events, "run.finished", "trustladder", pid, now, run_id=run_id, status=status, executed=executed)
                record = None
                if outcome is not None and self._outcome_refusal(db, pid, outcome) is None:
                    record = self._record_outcome(db, events, self._stored(db, pid), outcome, note=f"run {run_id} {status}", by="trustladder", now=now)
                records.append(RunRecord(run_id=run_id, proposal_id=pid, recorded=True, executed=executed, outcome=record))
        return records

    def record_effect(self, proposal_id: str, *, run_id: str | None, effect: dict[str, Any], now: datetime) -> None:
        """Audit what an execution did: rows affected, a run it queued, a credential it rotated."""
        with self._recording() as (db, events):
            self._stored(db, proposal_id)
            self._audit(events, "execution.effect", "trustladder", proposal_id, now, run_id=run_id, **effect)

    def lookup(self, proposal_id: str) -> StoredProposal | None:
        """A stored proposal, or None when there is none by that id."""
        with self.store.transaction() as db:
            return ledger.get_proposal(db, proposal_id)

    # -- standing approvals ---------------------------------------------------------------------

    def grant_standing(
        self,
        *,
        action_types: tuple[str, ...],
        objects: tuple[str, ...] = ("*",),
        agents: tuple[str, ...] = ("*",),
        by: str,
        until: datetime,
        reason: str,
        now: datetime,
    ) -> StandingApproval:
        """A platform approver approves a scope instead of an item, until a date."""
        self._check_ladder_approver(by, "grant standing approvals")
        if not reason.strip():
            raise UsageError("a standing approval needs a reason; pass --reason TEXT")
        if until <= now:
            raise UsageError(f"--until {until:%Y-%m-%d %H:%M} UTC is not in the future")
        known = [glob for glob in action_types if any(fnmatchcase(name, glob) for name in self.ladder.action_types)]
        if len(known) != len(action_types):
            missing = next(glob for glob in action_types if glob not in known)
            raise UsageError(f"action type {missing!r} matches no type in the ladder; see 'trustladder ladder' for the names")
        approval = StandingApproval(
            standing_id="sa-" + uuid.uuid4().hex[:8],
            action_types=action_types,
            objects=objects,
            agents=agents,
            granted_by=by,
            granted_at=now,
            expires_at=until,
            reason=reason,
        )
        with self._recording() as (db, events):
            ledger.insert_standing(db, approval)
            self._audit(events, "standing.granted", by, approval.standing_id, now, **approval.model_dump(mode="json", exclude={"standing_id", "revoked_at", "revoked_by"}))
        return approval

    def revoke_standing(self, standing_id: str, *, by: str, reason: str, now: datetime) -> StandingApproval:
        """Revoke a standing approval: proposals it covered need a human again, at once."""
        self._check_ladder_approver(by, "revoke standing approvals")
        with self._recording() as (db, events):
            found = next((a for a in ledger.standing_approvals(db) if a.standing_id == standing_id), None)
            if found is None:
                raise UsageError(f"no standing approval {standing_id!r}; list them with 'trustladder standing list'")
            if found.revoked_at is not None:
                raise UsageError(f"standing approval {standing_id} was already revoked by {found.revoked_by}")
            revoked = found.model_copy(update={"revoked_at": now, "revoked_by": by})
            ledger.revoke_standing(db, standing_id, by=by, now=now)
            self._audit(events, "standing.revoked", by, standing_id, now, reason=reason)
            return revoked

    def standing_approvals(self, *, active_at: datetime | None = None) -> list[StandingApproval]:
        """Every standing approval, or those active at a moment."""
        with self.store.transaction() as db:
            return ledger.standing_approvals(db, active_at=active_at)

    # -- notifications --------------------------------------------------------------------------

    def undelivered(self, channel: str, *, events: tuple[str, ...], now: datetime, limit: int = 50, max_attempts: int = 3) -> list[AuditEntry]:
        """Audit entries of ``events`` a notification channel has not delivered yet, oldest first.

        A channel (e.g. ``slack``) starts at the audit entry current when it first asks, records
        each attempt with ``record_delivery``, and gives up on an entry after ``max_attempts``
        failures, so a notifier that stops and starts again neither repeats nor loses a message.
        """
        if not events:
            raise UsageError("name at least one audit event to deliver, e.g. approval.requested")
        with self.store.transaction() as db:
            return audit.entries_at(db, ledger.undelivered(db, channel, events=events, max_attempts=max_attempts, limit=limit, now=now))

    def record_delivery(self, channel: str, seq: int, *, ok: bool, now: datetime, detail: str | None = None) -> None:
        """Record one attempt to deliver an audit entry on a channel."""
        with self.store.transaction() as db:
            ledger.record_delivery(db, channel, seq, ok=ok, detail=detail, now=now)

    # -- the ladder -----------------------------------------------------------------------------

    def ladder_status(self, *, now: datetime) -> list[LadderStatus]:
        """Every configured or seen action type: level, ceiling, outcomes, whether promotion is due."""
        with self.store.transaction() as db:
            found = self._evidence_all(db)
        return [status(found[name], self.ladder, now=now) for name in sorted(found)]

    def simulate(
        self, candidate: Ladder, *, since: datetime | None = None, assume_sign_off: bool = False, progress: replay.Progress | None = None
    ) -> Replay:
        """Re-decide every stored proposal under a candidate ladder and the trust state it would have had.

        The ledger is read in one transaction and released before anything is decided; nothing
        is written.

        Args:
            candidate: the ladder to replay under (``self.ladder`` is the one in force).
            since: only proposals made at or after this are re-decided; levels still replay the
                whole history.
            assume_sign_off: apply promotions that need a sign-off as soon as they are due.
            progress: called as ``progress(stage, done, total)`` on long runs.

        Returns:
            What changes: decisions by action type with examples, the share needing a human,
            reviewer load and levels, before and after.
        """
        with self.store.transaction(parallel=True) as db:
            history = replay.read(db, candidate, since=since, assume_sign_off=assume_sign_off, progress=progress)
        return replay.evaluate(history, candidate, current=self.ladder, assume_sign_off=assume_sign_off, progress=progress)

    def level_history(self, action_type: str | None = None) -> list[dict[str, Any]]:
        """Level changes, oldest first (of one type, or of all), for charts of level over time."""
        with self.store.transaction() as db:
            return ledger.level_history(db, action_type)

    def report(self, *, now: datetime, since: datetime | None = None, demotion_days: int = DEMOTION_DAYS) -> Report:
        """Approval rates, waits, outcomes, agreement and levels over time, per action type.

        The ledger is read in one transaction (aggregates only) and released before the report
        is assembled, so rendering it never holds the ledger.

        Args:
            now: the end of the range.
            since: the start of the range; None for the whole ledger.
            demotion_days: without ``since``, demotions of the last this many days are listed.

        Returns:
            The report.
        """
        if since is not None and since > now:
            raise UsageError(f"--since {since:%Y-%m-%d %H:%M} UTC is in the future; pass a date on or before today")
        if demotion_days < 1:
            raise UsageError(f"demotion_days must be at least 1, got {demotion_days}")
        with self.store.transaction(parallel=True) as db:
            figures = gather(db, since=since, until=now, top_reasons=TOP_REASONS)
            found = self._evidence_all(db)
        statuses = [status(found[name], self.ladder, now=now) for name in sorted(found)]
        return build_report(figures, statuses, self.ladder, now=now, since=since, demotion_days=demotion_days)

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

    def _decide(
        self, db: Any, proposal: Proposal, assessment: Assessment, now: datetime, *, state: ledger.TypeState | None = None
    ) -> PolicyDecision:
        """The one decision path: the type's level and the standing approvals from the ledger, then ``decide``.

        ``state`` is what ``ledger.type_state`` returned in this transaction, when the caller has read it.
        """
        state = state or ledger.type_state(db, assessment.action_type, now=now)
        level = self.ladder.policy_for(assessment.action_type).initial if state.level is None else int(state.level)
        return decide(proposal, assessment, self.ladder, level=level, now=now, standing=tuple(state.standing))

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


def _observed(decision: PolicyDecision, assessment: Assessment) -> bool:
    """In observe mode every write is put to a human, so the report can compare their verdicts with the ladder's."""
    return decision.mode == "observe" and assessment.writes and decision.ladder_decision is not Decision.DENY


def _parse_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    when, _, pid = cursor.partition("|")
    try:
        return datetime.fromisoformat(when), pid
    except ValueError:
        raise UsageError(f"launch cursor {cursor!r} is not one launch_ready returned; pass None to start over") from None

"""``TrustLadderResource``: the trustladder facade as a Dagster resource, and the inline gate.

Ops and sensors reach the ladder and the ledger only through this resource, so a run launched by
the gate sensor, from the UI, from the CLI or by a schedule meets the same decision code and the
same ledger as the trustladder CLI.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dagster import ConfigurableResource, Failure, MetadataValue, OpExecutionContext
from pydantic import Field

from supervisor.ledger import StoredProposal
from supervisor.models import Proposal
from supervisor.policy import proposal_hash
from supervisor.service import Clearance, Supervisor

# Run tags trustladder reads and writes.
TAG_PROPOSAL = "trustladder/proposal"
TAG_DECISION = "trustladder/decision"
TAG_ACTION_TYPE = "trustladder/action_type"
TAG_AWAITING = "trustladder/awaiting"
TAG_REEXECUTION_OF = "trustladder/reexecution_of"


def utcnow() -> datetime:
    """The time every Dagster entry point passes to the core."""
    return datetime.now(UTC)


class TrustLadderResource(ConfigurableResource):  # type: ignore[type-arg]
    """The trust ladder and its ledger, for ops and sensors.

    Example:
        ``Definitions(resources={"trustladder": TrustLadderResource(ladder_path="trust_ladder.yaml",
        ledger_path=".trustladder/ledger.duckdb")})``
    """

    ladder_path: str = Field(default="trust_ladder.yaml", description="Path to trust_ladder.yaml.")
    ledger_path: str = Field(default=".trustladder/ledger.duckdb", description="Path to the ledger's DuckDB file, shared with the CLI.")

    def supervisor(self) -> Supervisor:
        """The facade over this ladder and ledger (the ladder file is read on every call, so edits apply at once)."""
        return Supervisor.from_paths(ladder=self.ladder_path, ledger=self.ledger_path)

    def gate(
        self,
        context: OpExecutionContext,
        *,
        sql: str | None = None,
        dialect: str | None = None,
        action: str | None = None,
        params: Mapping[str, Any] | None = None,
        agent: str | None = None,
        confidence: float | None = None,
        reason: str | None = None,
        team: str | None = None,
        target: str | None = None,
        rollback: str | None = None,
    ) -> Clearance:
        """Ask the ladder before an op runs its own SQL or action; fail the step fast if it may not.

        The proposal's id is derived from the run's root, the step and the action, so after a
        human approves it, re-executing the run from this step finds the same proposal, now
        approved, and proceeds. The gate sensor does that re-execution.

        Returns:
            The clearance, when the action may run now (it is recorded as executed by this run).

        Raises:
            Failure: the action needs a human (the message names the proposal and the approve
                command) or is refused.
        """
        proposal = Proposal(
            sql=sql,
            dialect=dialect,
            action=action,
            params=dict(params or {}),
            agent=agent,
            confidence=confidence,
            reason=reason,
            team=team,
            target=target,
            rollback=rollback,
            context={"dagster_run_id": context.run_id, "dagster_job": context.job_name, "dagster_step": _step_key(context)},
        )
        action_hash = proposal_hash(proposal)
        root = context.run.root_run_id or context.run_id
        proposal_id = "dg-" + hashlib.sha256(f"{root}|{_step_key(context)}|{action_hash}".encode()).hexdigest()[:12]
        sup = self.supervisor()
        if sup.lookup(proposal_id) is None:
            sup.propose(proposal, now=utcnow(), proposal_id=proposal_id)
        clearance = sup.authorize(proposal_id, now=utcnow(), actor=f"dagster run {context.run_id}", proposal_hash=action_hash, run_id=context.run_id)
        if clearance.may_run:
            context.log.info(f"trustladder: proposal {proposal_id} cleared ({clearance.decision.decision.value}, level {clearance.decision.level})")
            return clearance
        refusal = clearance.reasons[0]
        if refusal.code == "not_approved" and clearance.decision.decision.needs_human:
            context.instance.add_run_tags(context.run_id, {TAG_AWAITING: proposal_id})
            raise Failure(
                description=(
                    f"trustladder: proposal {proposal_id} needs approval ({_why(clearance)}); "
                    f"approve it with `trustladder approve {proposal_id} --by WHO` and the gate sensor re-executes this run from this step"
                ),
                metadata={"proposal_id": proposal_id, "approve": MetadataValue.text(f"trustladder approve {proposal_id} --by WHO")},
                allow_retries=False,
            )
        raise Failure(description=f"trustladder refused proposal {proposal_id}: {refusal.message}", metadata={"proposal_id": proposal_id}, allow_retries=False)


def stored_or_fail(sup: Supervisor, proposal_id: str) -> StoredProposal:
    """The stored proposal, or a step failure that says where to look."""
    stored = sup.lookup(proposal_id)
    if stored is None:
        raise Failure(description=f"trustladder: no proposal {proposal_id!r} in {sup.store.path}; list pending ones with 'trustladder queue'")
    return stored


def _step_key(context: OpExecutionContext) -> str:
    mapping_key = context.get_mapping_key()
    return f"{context.op_handle}[{mapping_key}]" if mapping_key else str(context.op_handle)


def _why(clearance: Clearance) -> str:
    codes = [r.code for r in clearance.decision.reasons if r.code != "level"] or [r.code for r in clearance.decision.reasons]
    return ", ".join(codes) or "level 1"

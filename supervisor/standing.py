"""Standing approvals: a platform approver approves a policy instead of an item.

"Rotate credentials of service accounts in the ingestion layer, until 31 December": proposals
inside that scope, which would otherwise wait for a human only because of their level, run at the
notify level instead. A standing approval never covers what is never negotiable (destructive or
unknown effects, low confidence, another team's or compliance-tagged objects, cost, a freeze), it
expires, and it can be revoked; every grant and revocation is audited.
"""

from __future__ import annotations

from datetime import datetime
from fnmatch import fnmatchcase

from pydantic import Field, field_validator

from supervisor.models import Assessment, Model, Proposal
from supervisor.trust_ladder import match_object


class StandingApproval(Model):
    """An approval of every proposal in a scope, for a while."""

    schema_version: int = Field(default=1, description="Version of this record's shape.")
    standing_id: str = Field(description="Its id.")
    action_types: tuple[str, ...] = Field(min_length=1, description="Action-type globs it covers, e.g. pipeline.rotate_credential.")
    objects: tuple[str, ...] = Field(default=("*",), min_length=1, description="Object globs every touched object must match, e.g. ingestion.*.")
    agents: tuple[str, ...] = Field(default=("*",), min_length=1, description="Agent globs it covers.")
    granted_by: str = Field(description="The platform approver who granted it.")
    granted_at: datetime = Field(description="When.")
    expires_at: datetime = Field(description="When it stops covering new executions.")
    reason: str = Field(description="Why, in the approver's words.")
    revoked_at: datetime | None = Field(default=None, description="When it was revoked, if it was.")
    revoked_by: str | None = Field(default=None, description="Who revoked it.")

    @field_validator("action_types", "objects", "agents")
    @classmethod
    def _no_blank_globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not glob.strip() for glob in value):
            raise ValueError("a glob may not be blank")
        return value

    def active(self, now: datetime) -> bool:
        """Whether it covers executions at ``now``."""
        return self.revoked_at is None and self.granted_at <= now < self.expires_at

    def scope(self) -> str:
        """The scope in words, for reasons and reviewers."""
        objects = "" if self.objects == ("*",) else f" on {', '.join(self.objects)}"
        agents = "" if self.agents == ("*",) else f" by {', '.join(self.agents)}"
        return f"{', '.join(self.action_types)}{objects}{agents}"


def covering(standing: tuple[StandingApproval, ...], proposal: Proposal, assessment: Assessment, *, now: datetime) -> StandingApproval | None:
    """The first active standing approval whose scope covers the proposal, or None.

    A proposal that touches no named object is covered only by an approval for every object.
    """
    objects = assessment.objects or ((proposal.target,) if proposal.target else ())
    for approval in standing:
        if not approval.active(now):
            continue
        if not any(fnmatchcase(assessment.action_type, glob) for glob in approval.action_types):
            continue
        if not any(fnmatchcase(proposal.agent or "", glob) for glob in approval.agents):
            continue
        globs = dict.fromkeys(approval.objects)
        if approval.objects != ("*",) and (not objects or not all(match_object(name, globs) for name in objects)):
            continue
        return approval
    return None

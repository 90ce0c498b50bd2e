"""Sampled review: a risk-weighted share of the actions that ran without a human, checked afterwards.

Whether an execution is sampled is a pure function of its proposal id, so the same execution is
always sampled or not, whichever process clears it, and the share over many executions is the
configured one: the proposal id hashes to a number in [0, 1) that is compared with the type's
share (``review.sample`` times its weight).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum

from pydantic import Field

from supervisor.models import Assessment, Decision, Model, PolicyDecision
from supervisor.trust_ladder import Ladder

SILENT_LEVELS = (3, 4)


class Verdict(str, Enum):
    """What a reviewer found."""

    GOOD = "good"
    BAD = "bad"


class SampledReview(Model):
    """One execution queued for after-the-fact review."""

    proposal_id: str = Field(description="The executed proposal.")
    action_type: str = Field(description="Its action type.")
    level: int = Field(description="The level it ran at without a human.")
    share: float = Field(description="The chance an execution of this type was sampled.")
    group: str | None = Field(default=None, description="Who reviews it.")
    sampled_at: datetime = Field(description="When it was cleared and sampled.")
    verdict: Verdict | None = Field(default=None, description="good or bad; None while pending.")
    reviewed_by: str | None = Field(default=None, description="Who reviewed it.")
    reviewed_at: datetime | None = Field(default=None, description="When.")
    note: str | None = Field(default=None, description="What the reviewer found.")


def draw(proposal_id: str) -> float:
    """A number in [0, 1) fixed by the proposal id."""
    return int.from_bytes(hashlib.sha256(proposal_id.encode()).digest()[:8], "big") / 2**64


def sample(proposal_id: str, assessment: Assessment, decision: PolicyDecision, ladder: Ladder) -> float | None:
    """The type's share when this execution is picked for review, None when it is not.

    Only writes that ran without a human are candidates: allowed at level 3 or 4.

    Args:
        proposal_id: the proposal being executed.
        assessment: what it does.
        decision: the decision it was cleared under.
        ladder: the trust ladder, with its ``review`` section.
    """
    if not assessment.writes or decision.decision is not Decision.ALLOW or decision.level not in SILENT_LEVELS:
        return None
    share = ladder.review.share_for(assessment.action_type)
    return share if draw(proposal_id) < share else None

"""What ``trustladder simulate`` reports: the ``Replay`` model, its text and its JSON.

``supervisor.replay`` computes it; this module only says what it holds and how it reads.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import Field

from supervisor.models import Model, Reason

ASSUMPTIONS = (
    "Outcomes are taken as recorded: a proposal the candidate would have stopped still counts its recorded outcome, "
    "and one it would have let run earlier adds none.",
    "Recorded sign-offs promote only when the promotion is due under the candidate at that moment; "
    "manual demotions and violations drop one level from the replayed level.",
    "Reviewer load keeps the recorded queue wait; waiting at once is approvals per minute times the mean wait (Little's law).",
)


class Example(Model):
    """One proposal whose decision changes."""

    proposal_id: str = Field(description="The proposal.")
    created_at: datetime = Field(description="When it was made.")
    before: str = Field(description="The decision recorded then.")
    after: str = Field(description="The decision under the candidate.")
    level: int = Field(description="The level it is decided at under the candidate.")
    reason: Reason | None = Field(description="The first reason of the new decision.")


class Transition(Model):
    """How many proposals go from one decision to another."""

    before: str = Field(description="The recorded decision.")
    after: str = Field(description="The decision under the candidate.")
    count: int = Field(description="How many proposals.")


class TypeReplay(Model):
    """One action type's decisions before and after."""

    action_type: str = Field(description="The trust-ladder key.")
    proposals: int = Field(description="Its proposals in the replayed span.")
    changed: int = Field(description="How many decisions change.")
    before: dict[str, int] = Field(description="Recorded decisions: decision -> count.")
    after: dict[str, int] = Field(description="Decisions under the candidate: decision -> count.")
    transitions: tuple[Transition, ...] = Field(description="The changes, largest first.")
    examples: tuple[Example, ...] = Field(description="Up to 3 changed proposals, a different change each where there are several.")


class ReviewerLoad(Model):
    """Approvals the reviewers would see, at the waits they recorded."""

    days: float = Field(description="The span the rates are over (at least one day).")
    approvals_before: int = Field(description="Proposals that needed a human, as recorded.")
    approvals_after: int = Field(description="Proposals that would need a human under the candidate.")
    per_day_before: float = Field(description="Approvals per day, as recorded.")
    per_day_after: float = Field(description="Approvals per day under the candidate.")
    waits_recorded: int = Field(description="Approval requests a human answered in the span, which the waits are from.")
    wait_p50_minutes: float | None = Field(description="Median minutes from request to answer.")
    wait_p95_minutes: float | None = Field(description="95th percentile of the same.")
    wait_mean_minutes: float | None = Field(description="Mean of the same.")
    waiting_before: float | None = Field(description="Requests waiting at once on average, as recorded (Little's law).")
    waiting_after: float | None = Field(description="The same under the candidate, at the recorded wait.")


class LevelReplay(Model):
    """An action type's level at the end of the history, recorded and replayed."""

    action_type: str = Field(description="The trust-ladder key.")
    recorded_level: int | None = Field(description="The latest recorded level; None when it never changed level.")
    replayed_level: int = Field(description="Its level at the end of the replay under the candidate.")
    recorded_changes: int = Field(description="Level changes the ledger records.")
    replayed_changes: int = Field(description="Level changes in the replay.")


class ReplayedLevelChange(Model):
    """A level change in the replay."""

    action_type: str = Field(description="The trust-ladder key.")
    at: datetime = Field(description="When.")
    from_level: int = Field(description="The level before.")
    to_level: int = Field(description="The level after.")
    reason: str = Field(description="incident, rolled_back, error_rate, promotion, manual or violation.")
    by: str | None = Field(description="Who signed it off or demoted it, for replayed human changes.")


class Replay(Model):
    """What ``trustladder simulate`` reports."""

    schema_version: int = Field(default=1, description="Version of this record's shape.")
    proposals: int = Field(description="Proposals re-decided.")
    changed: int = Field(description="How many decisions change.")
    needs_human_before: float = Field(description="Share of proposals that needed a human (require_approval), as recorded.")
    needs_human_after: float = Field(description="The same under the candidate.")
    by_action_type: tuple[TypeReplay, ...] = Field(description="Per action type, the most changed first.")
    policy_version: str = Field(description="sha256 of the candidate ladder file.")
    candidate: str = Field(description="Where the candidate was read from.")
    current_policy_version: str | None = Field(description="sha256 of the ladder in force, when known.")
    recorded_policy_versions: dict[str, int] = Field(description="The ladders the recorded decisions were made under: version -> decisions.")
    since: datetime | None = Field(description="Only proposals made at or after this were re-decided.")
    first_proposal: datetime | None = Field(description="The earliest re-decided proposal.")
    last_proposal: datetime | None = Field(description="The latest.")
    reviewer_load: ReviewerLoad = Field(description="Approvals per day before and after.")
    levels: tuple[LevelReplay, ...] = Field(description="Per action type, the final level recorded and replayed.")
    level_changes: tuple[ReplayedLevelChange, ...] = Field(description="Every level change in the replay, oldest first.")
    skipped_sign_offs: int = Field(description="Recorded sign-offs whose promotion was not due under the candidate.")
    outcomes_replayed: int = Field(description="Recorded outcomes replayed through the candidate's rules.")
    assume_sign_off: bool = Field(description="Whether promotions were applied as soon as due, without waiting for a sign-off.")
    ordered_by: str = Field(description="audit (the audit trail's order) or time (recorded times, when the trail does not cover the ledger).")
    signatures: int = Field(description="Distinct decision inputs: how many times decide() ran.")
    assumptions: tuple[str, ...] = Field(description="What the replay takes as given.")


def render_replay(replay: Replay) -> str:
    """The replay as a summary a platform engineer reads before changing the ladder."""
    if not replay.proposals:
        where = f"no proposals made since {replay.since:%Y-%m-%d %H:%M} UTC" if replay.since else "the ledger holds no proposals"
        return f"no proposals to replay: {where}; nothing changes under {replay.candidate}\n"
    span = f" from {replay.first_proposal:%Y-%m-%d %H:%M} to {replay.last_proposal:%Y-%m-%d %H:%M} UTC" if replay.first_proposal and replay.last_proposal else ""
    if replay.current_policy_version is None:
        against = ""
    elif replay.policy_version == replay.current_policy_version:
        against = ", the ladder in force"
    else:
        against = f"; in force: {replay.current_policy_version[:12]}"
    lines = [
        f"Replayed {replay.proposals:,} proposals{span} under {replay.candidate} (policy {replay.policy_version[:12]}{against}).",
        f"{replay.changed:,} decisions change ({replay.changed / replay.proposals:.1%}). "
        f"Needs a human: {replay.needs_human_before:.1%} before, {replay.needs_human_after:.1%} after.",
    ]
    for item in replay.by_action_type:
        if not item.changed:
            continue
        moves = ", ".join(f"{t.before} -> {t.after} ({t.count:,})" for t in item.transitions)
        lines.append(f"  {item.action_type}: {item.changed:,} of {item.proposals:,} proposals change: {moves}")
        for example in item.examples:
            why = f": {example.reason.code}: {example.reason.message}" if example.reason else ""
            lines.append(f"      e.g. {example.proposal_id} ({example.created_at:%Y-%m-%d %H:%M}) {example.before} -> {example.after} at level {example.level}{why}")
    load = replay.reviewer_load
    lines.append(f"Reviewer load: {load.per_day_before:,.1f} approvals per day before, {load.per_day_after:,.1f} after (over {load.days:,.1f} days).")
    if load.wait_p50_minutes is not None and load.wait_p95_minutes is not None and load.waiting_before is not None and load.waiting_after is not None:
        lines.append(
            f"  At the recorded wait (p50 {load.wait_p50_minutes:,.0f} min, p95 {load.wait_p95_minutes:,.0f} min over {load.waits_recorded:,} answered requests): "
            f"about {_queue(load.waiting_before)} waiting at once before, {_queue(load.waiting_after)} after."
        )
    else:
        lines.append("  No approval request in the span was answered, so there is no recorded wait to forecast the queue from.")
    moved = [level for level in replay.levels if level.recorded_changes or level.replayed_changes]
    if moved:
        lines.append("Levels at the end, recorded -> replayed:")
        for level in moved:
            recorded = f"level {level.recorded_level}" if level.recorded_level is not None else "initial level"
            lines.append(
                f"  {level.action_type}: {recorded} ({_changes(level.recorded_changes)}) -> level {level.replayed_level} ({_changes(level.replayed_changes)})"
            )
    if replay.skipped_sign_offs:
        lines.append(f"{_changes(replay.skipped_sign_offs, 'recorded sign-off')} not due under the candidate: skipped.")
    if replay.assume_sign_off:
        lines.append("Promotions were applied as soon as due (--assume-sign-off).")
    lines.append(f"Assumes: {replay.assumptions[0]}")
    return "\n".join(lines) + "\n"


def _changes(count: int, noun: str = "change") -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def replay_json(replay: Replay) -> dict[str, Any]:
    """The contract's ``simulate --json`` shape, plus the rest of the report."""
    body: dict[str, Any] = json.loads(replay.model_dump_json())
    return body


def _queue(waiting: float) -> str:
    """An average queue length: one decimal, or how small it is when that would read 0.0."""
    return f"{waiting:,.1f}" if waiting >= 0.05 or waiting == 0 else f"{waiting:.2g}"

"""The trust state a candidate ladder would have had: each action type's level over the ledger's history.

The recorded outcomes are replayed, in the order they were recorded, through the candidate's
promotion and demotion rules (``supervisor.promotion``: ``after_outcome``, ``status``,
``promotion``), every type starting at the candidate's ``initial``. The evidence each rule sees is
what ``ledger.evidence`` would have read at that moment: the outcomes not yet superseded, counted
at the type's level since it reached it (or since the type was first proposed), the latest of
them for the demotion window. Human level changes are replayed at their recorded moments: a
sign-off promotes when a promotion is due under the candidate then (else it is skipped), a manual
demotion or a policy violation drops the type one level, as ``Supervisor.demote`` and
``Supervisor._violation`` do. With ``without_sign_off`` every promotion is automatic: it happens
at the first outcome at which it is due, as the ladder's own ``sign_off: false`` does.

Outcomes are taken as recorded: one whose proposal the candidate would have stopped still counts.

Types never affect each other, so each is replayed on its own, from columns. The rules are only
called when a change is possible (an error at level 2 or above, or enough outcomes, days and a low
enough error rate for an automatic promotion); whether the change happens is always theirs to say.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from supervisor.models import Outcome
from supervisor.promotion import Evidence, LevelChange, after_outcome, promotion, status
from supervisor.trust_ladder import Ladder, wilson_upper

# The key before every recorded event: a type's initial level holds from here.
DAWN_KEY = -(2**62)
# Outcome codes in the columns: 0 is the only success.
OUTCOME_CODES = {"success": 0, "failure": 1, "incident": 2, "rolled_back": 3}
_OUTCOMES = [Outcome(name) for name in OUTCOME_CODES]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_US = 86_400_000_000


def moment(us: int) -> datetime:
    """Epoch microseconds as a UTC datetime."""
    return _EPOCH + timedelta(microseconds=us)


def without_sign_off(ladder: Ladder) -> Ladder:
    """The ladder with every promotion automatic: what ``--assume-sign-off`` replays under.

    Args:
        ladder: the candidate.

    Returns:
        A copy whose promotion defaults and per-type overrides say ``sign_off: false``.
    """
    types = {
        name: policy.model_copy(update={"promotion": policy.promotion.model_copy(update={"sign_off": False})}) if policy.promotion.sign_off else policy
        for name, policy in ladder.action_types.items()
    }
    return ladder.model_copy(update={"promotion": ladder.promotion.model_copy(update={"sign_off": False}), "action_types": types})


@dataclass
class TypeHistory:
    """One action type's recorded history, as columns in the order it was recorded.

    ``keys`` order the outcomes against ``changes``: a change applies before every outcome whose
    key is greater than its own. When ``point_keys`` is true they also order them against
    proposals (and become the keys of the timeline's points); otherwise a change an outcome
    triggers is placed by that outcome's ``seq`` and ``Timeline.resolve`` gives it its key.
    """

    action_type: str
    first_proposed: int | None  # epoch µs of its first proposal: since when it has been at its initial level
    seqs: list[int] = field(default_factory=list)  # each outcome's seq
    keys: list[int] = field(default_factory=list)  # each outcome's place in the ledger's order
    ats: list[int] = field(default_factory=list)  # when each was recorded, epoch µs
    codes: list[int] = field(default_factory=list)  # OUTCOME_CODES
    supersedes: dict[int, int] = field(default_factory=dict)  # position -> position of the earlier outcome of the same proposal it supersedes
    changes: list[tuple[int, int, str, str | None, int]] = field(default_factory=list)  # recorded human or violation changes: (key, point key, reason, actor, at µs)
    point_keys: bool = True


@dataclass
class ReplayedChange:
    """A level change in the replay; ``key`` is None until ``Timeline.resolve`` places a change an outcome triggered."""

    key: int | None
    at: datetime
    change: LevelChange
    actor: str | None
    outcome_seq: int | None = None


@dataclass
class Timeline:
    """Each action type's level over time under the candidate.

    ``points[type]`` lists ``(key, level)`` from ``DAWN_KEY`` on: a proposal with a greater key
    was decided at that level (until the next point).
    """

    points: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    changes: list[ReplayedChange] = field(default_factory=list)
    unresolved: list[tuple[str, int, int]] = field(default_factory=list)  # (type, index in its points, seq of the outcome that triggered it)
    skipped_sign_offs: list[tuple[str, datetime, str]] = field(default_factory=list)
    outcomes: int = 0

    def level(self, action_type: str, key: int, initial: int) -> int:
        """The level a proposal with ``key`` was decided at (``initial`` for a type never replayed)."""
        found = initial
        for point, level in self.points.get(action_type, ()):
            if point >= key:
                break
            found = level
        return found

    def resolve(self, keys: dict[int, int]) -> None:
        """Give the changes outcomes triggered their keys, from the seq of each outcome to its key."""
        for action_type, index, seq in self.unresolved:
            _, level = self.points[action_type][index]
            self.points[action_type][index] = (keys[seq], level)
        for change in self.changes:
            if change.key is None and change.outcome_seq is not None:
                change.key = keys[change.outcome_seq]
        self.unresolved.clear()

    def final(self, action_type: str, initial: int) -> int:
        """The type's level at the end of the history."""
        points = self.points.get(action_type)
        return points[-1][1] if points else initial


def replay_levels(
    histories: Iterable[TypeHistory], ladder: Ladder, *, total: int = 0, progress: Callable[[str, int, int], None] | None = None
) -> Timeline:
    """Replay each type's recorded outcomes and human level changes under ``ladder``.

    Args:
        histories: each type's history.
        ladder: the candidate (``without_sign_off(candidate)`` for ``--assume-sign-off``).
        total: how many outcomes there are, for progress.
        progress: called as ``progress("replaying outcomes", done, total)`` after each type.

    Returns:
        Each type's level over time, and the changes the replay made.
    """
    window = max([ladder.demotion.window, *(p.demotion.window or 0 for p in ladder.action_types.values())])
    timeline = Timeline()
    for history in histories:
        _Replay(history, ladder, window, timeline).run()
        timeline.outcomes += len(history.keys)
        if progress is not None:
            progress("replaying outcomes", timeline.outcomes, max(total, timeline.outcomes))
    return timeline


class _Replay:
    """One type's replay: its level, and the counts ``ledger.evidence`` would read at each outcome."""

    def __init__(self, history: TypeHistory, ladder: Ladder, window: int, timeline: Timeline) -> None:
        self.h = history
        self.ladder = ladder
        self.timeline = timeline
        policy = ladder.policy_for(history.action_type)
        self.ceiling = policy.ceiling
        self.level = min(policy.initial, policy.ceiling)
        self.changed_at: int | None = None  # the latest replayed change (ledger.evidence: max(changed_at))
        self.runs = [(0, self.level)]  # (first position, level): the level each outcome counted at
        self.dead: set[int] = set()
        self.n = 0  # outcomes at the level since it was reached, not superseded
        self.err = 0
        self.recent: deque[int] = deque(maxlen=window)  # positions of the latest of them
        self.recent_err = 0
        self.position = 0  # outcomes replayed so far
        self.totals = [0, 0, 0, 0]
        self.monotone = True
        self.points = timeline.points.setdefault(history.action_type, [(DAWN_KEY, self.level)])

    @property
    def since(self) -> int | None:
        return self.changed_at if self.changed_at is not None else self.h.first_proposed

    def run(self) -> None:
        h, ladder = self.h, self.ladder
        demotion, rules = ladder.demotion_for(h.action_type), ladder.promotion_for(h.action_type)
        size, demote_rate = demotion.window, demotion.max_error_rate
        auto = not rules.sign_off
        min_outcomes, promote_rate, confidence = rules.min_outcomes, rules.max_error_rate, rules.confidence
        min_age = rules.min_days_at_level * _DAY_US - 1_000  # 1 ms of slack for the float days status() computes
        keys, ats, codes, supersedes, changes = h.keys, h.ats, h.codes, h.supersedes, h.changes
        pending = deque(sorted(supersedes))
        next_super = pending[0] if pending else -1
        ci, n_changes = 0, len(changes)
        last_at = ats[0] if ats else 0
        want = self.recent.maxlen or 0
        for i in range(len(keys)):
            key = keys[i]
            self.position = i
            while ci < n_changes and changes[ci][0] < key:
                self.recorded(*changes[ci][1:])
                ci += 1
            if i == next_super:
                self.supersede(supersedes[i])
                pending.popleft()
                next_super = pending[0] if pending else -1
            at, code = ats[i], codes[i]
            error = code != 0
            if at < last_at:
                self.monotone = False
            last_at = at
            self.totals[code] += 1
            since = self.changed_at if self.changed_at is not None else h.first_proposed
            if since is None or at >= since:
                self.n += 1
                self.err += error
                recent = self.recent
                if len(recent) == want and codes[recent[0]] != 0:
                    self.recent_err -= 1
                recent.append(i)
                self.recent_err += error
            self.position = i + 1
            level = self.level
            # a demotion needs an error: this one, or enough of them in the window
            possible = level > 1 and (error or (self.recent_err > 0 and sum(codes[p] != 0 for p in list(self.recent)[-size:]) / size > demote_rate))
            if not possible and auto and not error and level < self.ceiling and self.n >= min_outcomes and self.err < promote_rate * self.n:
                possible = since is not None and at - since >= min_age and wilson_upper(self.err, self.n, confidence) < promote_rate
            if possible:
                change = after_outcome(self.evidence(), _OUTCOMES[code], ladder, now=moment(at))
                if change is not None:
                    self.apply(change, key if h.point_keys else None, at, None, outcome_seq=h.seqs[i])
        self.position = len(keys)
        while ci < n_changes:
            self.recorded(*changes[ci][1:])
            ci += 1

    def level_of(self, position: int) -> int:
        found = self.runs[0][1]
        for start, level in self.runs:
            if start > position:
                break
            found = level
        return found

    def supersede(self, position: int) -> None:
        """The outcome at ``position`` is superseded by a later one of the same proposal: it no longer counts."""
        self.dead.add(position)
        self.totals[self.h.codes[position]] -= 1
        since = self.since
        if self.level_of(position) == self.level and (since is None or self.h.ats[position] >= since):
            self.n -= 1
            self.err -= self.h.codes[position] != 0
            if position in self.recent:
                self.rebuild(count=False)

    def rebuild(self, *, count: bool = True) -> None:
        """Recount the outcomes at the current level since it was reached (after a change, or a superseded one in the window)."""
        since, ats, codes = self.since, self.h.ats, self.h.codes
        n = err = 0
        found: list[int] = []
        want = self.recent.maxlen or 0
        for position in range(self.position - 1, -1, -1):
            at = ats[position]
            if since is not None and at < since:
                if self.monotone:
                    break
                continue
            if position in self.dead or self.level_of(position) != self.level:
                continue
            n += 1
            err += codes[position] != 0
            if len(found) < want:
                found.append(position)
            elif not count:
                break
        if count:
            self.n, self.err = n, err
        self.recent = deque(reversed(found), maxlen=want)
        self.recent_err = sum(codes[p] != 0 for p in found)

    def evidence(self) -> Evidence:
        since = self.since
        return Evidence(
            action_type=self.h.action_type,
            level=self.level,
            since=moment(since) if since is not None else None,
            outcomes_at_level=self.n,
            errors_at_level=self.err,
            recent=tuple(self.h.codes[p] != 0 for p in self.recent),
            successes=self.totals[0],
            failures=self.totals[1],
            incidents=self.totals[2],
            rolled_back=self.totals[3],
        )

    def apply(self, change: LevelChange, key: int | None, at: int, actor: str | None, *, outcome_seq: int | None = None) -> None:
        """Move to the change's level; the outcomes counted at it restart from this moment."""
        self.level = change.to_level
        self.changed_at = at if self.changed_at is None else max(self.changed_at, at)
        # the outcomes recorded so far counted at the old level; what follows counts at the new one
        self.runs.append((self.position, self.level))
        self.rebuild()
        if key is None and outcome_seq is not None:
            self.timeline.unresolved.append((self.h.action_type, len(self.points), outcome_seq))
        self.points.append((key if key is not None else 0, self.level))
        self.timeline.changes.append(ReplayedChange(key=key, at=moment(at), change=change, actor=actor, outcome_seq=outcome_seq))

    def recorded(self, key: int, reason: str, actor: str | None, at: int) -> None:
        """A recorded human level change (or violation demotion), as it would play under the candidate."""
        action_type, level = self.h.action_type, self.level
        if reason == "promotion":
            evidence = self.evidence()
            current = status(evidence, self.ladder, now=moment(at))
            if current.promotion_due:
                self.apply(promotion(evidence, current, by=actor), key, at, actor)
            else:
                self.timeline.skipped_sign_offs.append((action_type, moment(at), "; ".join(current.blockers)))
            return
        if reason == "violation" and not self.ladder.demotion_for(action_type).on_violation:
            return
        if level <= 1:
            return
        change = LevelChange(
            action_type=action_type,
            from_level=level,
            to_level=level - 1,
            reason="violation" if reason == "violation" else "manual",
            message="an execution the gate refused was attempted, as recorded" if reason == "violation" else f"demoted by {actor}, as recorded",
            evidence={"level": level, "outcomes_at_level": self.n, "errors_at_level": self.err},
        )
        self.apply(change, key, at, actor)

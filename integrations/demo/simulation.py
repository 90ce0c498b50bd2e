"""Play simulated weeks of the demo agent's proposals through the ``Supervisor``, on a simulated clock.

Events run in time order from a heap: the agent proposes during working hours; reviewers from
the ladder's approver groups answer after a realistic wait (some too late, so ``tick`` escalates
the request, or expires it when it is destructive); the runner executes what the gate clears
(``Supervisor.authorize``), SQL for real on the demo warehouse in one DuckDB transaction each,
and reports each outcome; on-call reports the odd incident hours later; a ladder approver signs
off due promotions at the weekly platform review (Monday 10:00), where the silent writes sampled
for review are checked too; ``tick`` runs every hour while a
request is open. Every decision, vote, execution, outcome and level change goes through the
facade into the ledger, which the caller holds for the whole run (``Supervisor.held``).
"""

from __future__ import annotations

import heapq
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb

from integrations.demo.workload import (
    Intent,
    arrivals,
    drop_snapshot,
    leftovers,
    make_intent,
)
from supervisor.approvals import ApprovalRequest, ApprovalState
from supervisor.models import Decision, Outcome
from supervisor.review import Verdict
from supervisor.service import Supervisor

RUNNER = "demo-runner"  # who executes what the gate clears and reports how it went
WEEK = timedelta(days=7)
# When people look at the queue (UTC hours, Monday to Friday): the first group's reviewers, then
# the group requests escalate to.
_REVIEW_HOURS = (8.5, 18.5)
_ESCALATION_HOURS = (9.0, 18.0)


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    run: Callable[..., object] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)


@dataclass
class _Tracked:
    """What the simulation knows about one proposal: its intent, random source and open request."""

    intent: Intent
    rng: random.Random
    key: str
    expires_at: datetime | None = None
    group: str | None = None
    asked: set[str] = field(default_factory=set)


@dataclass
class WeekTally:
    """The simulation's own count of one week, for the progress line (the report reads the ledger)."""

    week: int
    proposals: int = 0
    needs_human: int = 0
    level_changes: list[str] = field(default_factory=list)


class Simulation:
    """One demo run: the agent, reviewers, runner and platform team on a simulated clock.

    Args:
        supervisor: the facade on the demo's ledger.
        warehouse: an open connection to the demo warehouse.
        start: Monday 00:00 UTC of the first week.
        weeks: how many weeks to play.
        seed: the random seed; the same seed plays the same weeks.
        progress: called with one line at the end of each week.
    """

    def __init__(self, supervisor: Supervisor, warehouse: duckdb.DuckDBPyConnection, *, start: datetime, weeks: int, seed: int, progress: Callable[[str], None] | None = None) -> None:
        self.sup = supervisor
        self.ladder = supervisor.ladder
        self.warehouse = warehouse
        self.start = start
        self.end = start + weeks * WEEK
        self.weeks = weeks
        self.seed = seed
        self.progress = progress
        self.tracked: dict[str, _Tracked] = {}
        self._open: set[str] = set()  # proposals whose approval request is pending
        self.tallies = [WeekTally(week) for week in range(1, weeks + 1)]
        self._heap: list[_Event] = []
        self._seq = 0
        self._ids: set[str] = set()
        self._started = 0.0

    # -- the clock ------------------------------------------------------------------------------

    def _at(self, when: datetime, run: Callable[..., object], *args: Any) -> None:
        """Call ``run(*args, when)`` at ``when``; events at the same moment run in the order they were scheduled."""
        self._seq += 1
        heapq.heappush(self._heap, _Event(when, self._seq, run, args))

    def week_of(self, when: datetime) -> int:
        """1 for the first week."""
        return int((when - self.start) / WEEK) + 1

    def run(self, *, leftovers_at: datetime | None = None) -> list[str]:
        """Play every week, then leave a few proposals waiting for a human.

        Args:
            leftovers_at: when the agent makes its last proposals (default: the end of the last week).

        Returns:
            The ids of the proposals left waiting.
        """
        self._started = time.perf_counter()
        for day in range(self.weeks * 7):
            midnight = self.start + timedelta(days=day)
            if midnight.weekday() < 5:
                daily = random.Random(f"{self.seed}/day/{day}")
                for index, (when, kind) in enumerate(arrivals(daily, day=midnight)):
                    self._at(when, self._new, kind, f"{self.seed}/day/{day}/{index}", f"d{day}_{index}")
        for hour in range(1, self.weeks * 7 * 24 + 1):
            self._at(self.start + timedelta(hours=hour), self._tick)
        for week in range(2, self.weeks + 1):
            self._at(self.start + (week - 1) * WEEK + timedelta(hours=10), self._platform_review)
        for week in range(1, self.weeks + 1):
            self._at(self.start + week * WEEK - timedelta(microseconds=1), self._report_week, week)
        while self._heap and self._heap[0].at < self.end:
            event = heapq.heappop(self._heap)
            event.run(*event.args, event.at)
        return self._leave_waiting(max(leftovers_at or self.end, self.end))

    # -- the agent ------------------------------------------------------------------------------

    def _new(self, kind: str, key: str, tag: str, now: datetime) -> None:
        rng = random.Random(key)
        self._propose(make_intent(kind, rng, now=now, tag=tag), key, now, rng=rng)

    def _propose(self, intent: Intent, key: str, now: datetime, *, rng: random.Random | None = None, review: bool = True) -> str:
        rng = rng or random.Random(key)
        pid = self._new_id(rng)
        recorded = self.sup.propose(intent.proposal, now=now, proposal_id=pid)
        tracked = self.tracked[pid] = _Tracked(intent, rng, key)
        decision = recorded.decision.decision
        if now < self.end:
            tally = self.tallies[self.week_of(now) - 1]
            tally.proposals += 1
            tally.needs_human += decision is Decision.REQUIRE_APPROVAL
        if decision.may_run:
            self._at(now + timedelta(minutes=rng.randint(1, 3)), self._execute, pid)
        elif recorded.approval is not None:
            self._opened(pid, tracked, recorded.approval)
            if review:
                self._ask(pid, now)
        return pid

    def _new_id(self, rng: random.Random) -> str:
        while True:
            pid = f"{rng.getrandbits(48):012x}"
            if pid not in self._ids:
                self._ids.add(pid)
                return pid

    def _follow_up(self, intent: Intent, parent: _Tracked, suffix: str, when: datetime) -> None:
        self._at(when, self._propose, intent, f"{parent.key}/{suffix}")

    # -- reviewers ------------------------------------------------------------------------------

    def _opened(self, pid: str, tracked: _Tracked, request: ApprovalRequest) -> None:
        tracked.expires_at, tracked.group = request.expires_at, request.group
        if request.state is ApprovalState.PENDING:
            self._open.add(pid)
        else:
            self._open.discard(pid)

    def _ask(self, pid: str, now: datetime, *, hours: tuple[float, float] = _REVIEW_HOURS) -> None:
        """A reviewer of the request's group picks it up after a wait; too late means it times out."""
        tracked = self.tracked[pid]
        agent = tracked.intent.proposal.agent
        people = [person for person in self.ladder.approvers_of(tracked.group) if person not in tracked.asked and person != agent]
        if not people or tracked.expires_at is None:
            return
        person = tracked.rng.choice(people)
        wait = timedelta(minutes=tracked.intent.wait_minutes * math.exp(tracked.rng.gauss(0.0, 0.9)))
        when = _available(now, hours) + wait
        if when < tracked.expires_at:
            tracked.asked.add(person)
            self._at(when, self._review, pid, person)

    def _review(self, pid: str, person: str, now: datetime) -> None:
        tracked = self.tracked[pid]
        if pid not in self._open or tracked.expires_at is None or now >= tracked.expires_at:
            return
        intent = tracked.intent
        if tracked.rng.random() < intent.approve:
            reason = "scratch copy, fine to drop" if intent.kind == "drop_snapshot" else None
            request = self.sup.approve(pid, by=person, reason=reason, now=now)
            self._opened(pid, tracked, request)
            if request.state is ApprovalState.APPROVED:
                self._at(now + timedelta(minutes=tracked.rng.randint(1, 4)), self._execute, pid)
            elif request.state is ApprovalState.PENDING:  # another distinct approver is needed
                self._ask(pid, now)
            return
        self.sup.reject(pid, by=person, reason=intent.reject_reason, now=now)
        self._open.discard(pid)
        if intent.instead is not None:
            self._follow_up(intent.instead, tracked, "instead", now + timedelta(minutes=tracked.rng.randint(5, 25)))

    def _tick(self, now: datetime) -> None:
        if not self._open:
            return  # no request is waiting, so a tick would find nothing to do: skip the call
        report = self.sup.tick(now=now)
        for request in report.escalated:
            tracked = self.tracked[request.proposal_id]
            self._opened(request.proposal_id, tracked, request)
            self._ask(request.proposal_id, now, hours=_ESCALATION_HOURS)
        for request in (*report.expired, *report.lapsed):
            self._open.discard(request.proposal_id)

    def _platform_review(self, now: datetime) -> None:
        """Monday 10:00: a ladder approver signs off every promotion the ladder says is due."""
        members = self.ladder.approvers_of(self.ladder.ladder_group())
        if not members:
            return
        by = members[self.week_of(now) % len(members)]
        for row in self.sup.ladder_status(now=now):
            if row.promotion_due:
                change = self.sup.promote(row.action_type, by=by, now=now)
                self._changed(f"{change.action_type} {change.from_level}->{change.to_level}", now)
        # The silent writes sampled since last week: someone looks at what each one changed.
        for queued in self.sup.reviews():
            reviewers = self.ladder.approvers_of(queued.group)
            if reviewers:
                self.sup.review(queued.proposal_id, Verdict.GOOD, by=reviewers[0], note="checked the rows it changed", now=now)

    def _changed(self, text: str, now: datetime) -> None:
        if now < self.end:
            self.tallies[self.week_of(now) - 1].level_changes.append(text)

    # -- the runner -----------------------------------------------------------------------------

    def _execute(self, pid: str, now: datetime) -> None:
        """The gate at execution time, then the run: SQL on the warehouse, a pipeline action in ops_log."""
        clearance = self.sup.authorize(pid, now=now, actor=RUNNER)
        tracked = self.tracked[pid]
        if not clearance.may_run:
            # Refused and audited: its type was demoted since it was decided. The agent proposes
            # it again, and the ladder now asks a human.
            self._follow_up(tracked.intent, tracked, "again", now + timedelta(minutes=tracked.rng.randint(5, 15)))
            return
        intent, rng = tracked.intent, tracked.rng
        week = self.week_of(now)
        failed = rng.random() < intent.failure_in(week)
        note = intent.failure_note_in(week) if failed else None
        proposal = intent.proposal
        if proposal.sql is not None:
            try:
                _run_sql(self.warehouse, proposal.sql, commit=not failed)
            except duckdb.Error as error:
                failed, note = True, f"DuckDB: {str(error).strip().splitlines()[0]}"
        elif not failed:
            self.warehouse.execute(
                "INSERT INTO ops_log (proposal_id, action, target, params, run_id, logged_at) VALUES (?, ?, ?, ?, NULL, ?)",
                [pid, proposal.action, proposal.target, json.dumps(proposal.params, sort_keys=True), now.replace(tzinfo=None)],
            )
        done = now + timedelta(minutes=rng.randint(*intent.run_minutes))
        outcome = Outcome.FAILURE if failed else Outcome.SUCCESS
        self._at(done, self._outcome, pid, outcome, note, RUNNER)
        if failed:
            return
        if rng.random() < intent.incident:
            self._at(done + timedelta(minutes=rng.randint(60, 360)), self._incident, pid)
        if intent.snapshot is not None:
            later = _available(now + timedelta(days=rng.randint(1, 3)), _REVIEW_HOURS) + timedelta(minutes=rng.randint(0, 240))
            self._follow_up(drop_snapshot(rng, table=intent.snapshot), tracked, "drop", later)

    def _outcome(self, pid: str, outcome: Outcome, note: str | None, by: str, now: datetime) -> None:
        record = self.sup.record_outcome(pid, outcome, note=note, by=by, now=now)
        if record.level_change is not None:
            change = record.level_change
            self._changed(f"{change.action_type} {change.from_level}->{change.to_level}", now)

    def _incident(self, pid: str, now: datetime) -> None:
        members = self.ladder.approvers_of(self.ladder.ladder_group()) or [RUNNER]
        tracked = self.tracked[pid]
        self._outcome(pid, Outcome.INCIDENT, tracked.intent.incident_note, tracked.rng.choice(members), now)

    # -- progress and the end -------------------------------------------------------------------

    def _report_week(self, week: int, now: datetime) -> None:
        if self.progress is None:
            return
        tally = self.tallies[week - 1]
        first = self.start + (week - 1) * WEEK
        share = f"{tally.needs_human / tally.proposals:.0%}" if tally.proposals else "-"
        changes = ", ".join(tally.level_changes) or "none"
        elapsed = time.perf_counter() - self._started
        self.progress(
            f"week {week}/{self.weeks} ({first:%b %d}-{first + timedelta(days=6):%b %d}): {tally.proposals} proposals, "
            f"{share} needed a human, level changes: {changes}  [{elapsed:.1f} s]"
        )

    def _leave_waiting(self, now: datetime) -> list[str]:
        rng = random.Random(f"{self.seed}/end")
        waiting = []
        intents = leftovers(rng, now=now)
        for index, intent in enumerate(intents):  # a minute apart, the last one now: never in the future
            key = f"{self.seed}/end/{index}"
            waiting.append(self._propose(intent, key, now - timedelta(minutes=len(intents) - 1 - index), review=False))
        return waiting


def _available(when: datetime, hours: tuple[float, float]) -> datetime:
    """The first moment at or after ``when`` that falls in working hours, Monday to Friday."""
    opens, closes = (timedelta(hours=h) for h in hours)
    moment = when
    while True:
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if moment.weekday() < 5:
            if moment - midnight < opens:
                return midnight + opens
            if moment - midnight < closes:
                return moment
        moment = midnight + timedelta(days=1)


def _run_sql(conn: duckdb.DuckDBPyConnection, sql: str, *, commit: bool) -> None:
    """Run a proposal's SQL in one transaction; roll it back instead of committing when its run failed."""
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(sql).fetchall()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT" if commit else "ROLLBACK")

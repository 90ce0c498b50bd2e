"""The demo agent's workload: what it proposes, how often, how reviewers answer, how often it fails.

Each kind of proposal has a ``Profile`` (proposals per week, failure and incident rates, how
reviewers treat it) and a template that writes a realistic proposal against the demo warehouse
(``integrations.warehouse.demo``): reads that diagnose, scoped fixes on ``orders`` and ``events``,
retries, credential rotations, backfills, scaling, timeouts, schema changes and the odd
destructive statement. Every random draw comes from a ``random.Random`` seeded by the demo's seed
and the proposal's number, so a seed always plays the same weeks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from supervisor.models import Proposal

AGENT = "fixer"
# The week the retries turn flaky (the events API starts rate-limiting) and how flaky they get.
FLAKY_WEEK = 6
FLAKY_FAILURE = 0.6


@dataclass(frozen=True)
class Profile:
    """How one kind of proposal behaves in the demo."""

    kind: str
    per_week: float  # mean proposals per working week
    failure: float  # chance a run fails
    incident: float  # chance a run that succeeded turns out to have caused an incident (rarer than failures)
    approve: float  # chance a reviewer approves it
    wait_minutes: float  # median time before a reviewer looks at it
    run_minutes: tuple[int, int]  # how long a run takes before its outcome is known
    flaky: dict[int, float] = field(default_factory=dict)  # week -> failure rate from that week on
    flaky_note: str = ""  # what a failure says while the kind is flaky


PROFILES: tuple[Profile, ...] = (
    Profile("read", per_week=3, failure=0.0, incident=0.0, approve=1.0, wait_minutes=10, run_minutes=(1, 3)),
    Profile("fix", per_week=22, failure=0.003, incident=0.001, approve=0.96, wait_minutes=12, run_minutes=(1, 5)),
    Profile("snapshot", per_week=1, failure=0.0, incident=0.0, approve=0.97, wait_minutes=12, run_minutes=(1, 3)),
    Profile(
        "retry", per_week=16, failure=0.002, incident=0.0, approve=0.97, wait_minutes=6, run_minutes=(5, 30),
        flaky={FLAKY_WEEK: FLAKY_FAILURE, FLAKY_WEEK + 1: 0.03},
        flaky_note="the retry failed again: the source API now answers 429 Too Many Requests (rate limits tightened this week)",
    ),
    Profile("rotate", per_week=1, failure=0.04, incident=0.0, approve=0.95, wait_minutes=15, run_minutes=(2, 10)),
    Profile("backfill", per_week=2, failure=0.07, incident=0.03, approve=0.9, wait_minutes=20, run_minutes=(20, 120)),
    Profile("scale", per_week=1, failure=0.04, incident=0.0, approve=0.9, wait_minutes=10, run_minutes=(5, 15)),
    Profile("timeout", per_week=1.2, failure=0.03, incident=0.0, approve=0.95, wait_minutes=15, run_minutes=(2, 10)),
    Profile("schema", per_week=1, failure=0.05, incident=0.04, approve=0.85, wait_minutes=25, run_minutes=(1, 5)),
    Profile("destructive", per_week=1, failure=0.0, incident=0.0, approve=0.0, wait_minutes=15, run_minutes=(1, 3)),
)
_BY_KIND = {profile.kind: profile for profile in PROFILES}


@dataclass(frozen=True)
class Intent:
    """One proposal the agent makes, with what the simulation needs to play it out."""

    kind: str
    proposal: Proposal
    approve: float  # chance a reviewer approves
    reject_reason: str  # what a reviewer says when rejecting
    wait_minutes: float  # median reviewer wait
    run_minutes: tuple[int, int]
    failure: float
    incident: float
    failure_note: str = "the run failed its post-check and was rolled back"
    incident_note: str = "on-call found a downstream problem caused by this change"
    risk: float = 1.0  # multiplies the failure rate: a guess fails more often than a diagnosis
    snapshot: str | None = None  # a scratch table it creates, which the agent later proposes to drop
    instead: Intent | None = None  # what the agent proposes when this is rejected

    def failure_in(self, week: int) -> float:
        """The chance a run of this proposal fails in a given week (its kind may turn flaky)."""
        flaky = _flaky_rate(self.kind, week)
        return min(1.0, (self.failure if flaky is None else flaky) * self.risk)

    def failure_note_in(self, week: int) -> str:
        """What a failed run says in a given week."""
        return profile(self.kind).flaky_note if _flaky_rate(self.kind, week) == FLAKY_FAILURE else self.failure_note


def profile(kind: str) -> Profile:
    """The profile of a kind of proposal."""
    return _BY_KIND[kind]


def _flaky_rate(kind: str, week: int) -> float | None:
    """The failure rate a flaky kind has in a given week, or None when its own rate applies."""
    found = _BY_KIND.get(kind)
    started = [first for first in (found.flaky if found else {}) if first <= week]
    return found.flaky[max(started)] if found and started else None


def arrivals(rng: random.Random, *, day: datetime) -> list[tuple[datetime, str]]:
    """The proposals the agent makes on one working day: (time, kind), in time order.

    Args:
        rng: the day's random source.
        day: midnight (UTC) of a working day.

    Returns:
        Arrival times between 08:00 and 18:00 and the kind of each.
    """
    found = []
    for item in PROFILES:
        for _ in range(_poisson(rng, item.per_week / 5)):
            found.append((day + timedelta(hours=8, seconds=rng.randrange(10 * 3600)), item.kind))
    return sorted(found)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means of one day's proposals."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def make_intent(kind: str, rng: random.Random, *, now: datetime, tag: str) -> Intent:
    """Write one proposal of a kind, as the agent would at ``now``.

    Args:
        kind: a profile's kind.
        rng: the proposal's random source.
        now: when it is proposed (backfill partitions and filters are relative to it).
        tag: a short unique tag, used to name scratch tables.

    Returns:
        The intent.
    """
    intent = _TEMPLATES[kind](rng, now, tag)
    if kind != "read" and rng.random() < 0.06:  # now and then the agent is unsure of its diagnosis
        low = round(rng.uniform(0.45, 0.69), 2)
        intent = replace(
            intent,
            proposal=intent.proposal.model_copy(update={"confidence": low}),
            approve=intent.approve * 0.8,
            risk=3.0,
            reject_reason="the diagnosis is a guess; show the evidence first",
        )
    return intent


def _intent(kind: str, proposal: Proposal, *, reject_reason: str, **extra: Any) -> Intent:
    """An intent with its kind's profile: approval chance, reviewer wait, run time, failure and incident rates."""
    found = profile(kind)
    return Intent(
        kind=kind,
        proposal=proposal,
        approve=found.approve,
        reject_reason=reject_reason,
        wait_minutes=found.wait_minutes,
        run_minutes=found.run_minutes,
        failure=found.failure,
        incident=found.incident,
        **extra,
    )


def _confidence(rng: random.Random) -> float:
    return round(rng.uniform(0.74, 0.98), 2)


def _sql(text: str, *, rng: random.Random, team: str, target: str, reason: str, rollback: str | None) -> Proposal:
    return Proposal(sql=text, dialect="duckdb", agent=AGENT, confidence=_confidence(rng), team=team, target=target, reason=reason, rollback=rollback)


def _action(name: str, params: dict[str, object], *, rng: random.Random, target: str, reason: str, rollback: str) -> Proposal:
    return Proposal(action=name, params=params, agent=AGENT, confidence=_confidence(rng), team="data-platform", target=target, reason=reason, rollback=rollback)


def _stuck_order_ids(rng: random.Random, n: int) -> list[int]:
    """Ids of orders the seed made 'stuck' (every 17th), in order."""
    return sorted(17 * k for k in rng.sample(range(1, 295), n))


def _read(rng: random.Random, now: datetime, tag: str) -> Intent:
    day = (now - timedelta(days=rng.randint(1, 6))).date().isoformat()
    text, reason = rng.choice(
        (
            ("SELECT status, count(*) AS orders FROM orders GROUP BY status ORDER BY 2 DESC", "size the stuck-order backlog before proposing a fix"),
            ("SELECT id, customer_id, amount, ordered_at FROM orders WHERE status = 'stuck' ORDER BY ordered_at LIMIT 50", "list the oldest stuck orders for the incident ticket"),
            ("SELECT o.id, o.customer_id FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL", "check for orders pointing at missing customers after the CRM sync"),
            ("SELECT region, count(*) AS customers FROM customers GROUP BY region", "compare customer counts per region with the CRM's"),
            (f"SELECT event_type, count(*) AS events FROM events WHERE ts >= TIMESTAMP '{day}' GROUP BY 1", "the checkout funnel dropped; look at event volumes by type"),
            ("SELECT customer_id, count(*) AS hits FROM events WHERE event_type = 'bot' GROUP BY 1 ORDER BY 2 DESC LIMIT 20", "find the customers whose sessions look like crawlers"),
        )
    )
    target = "events" if "events" in text else "customers" if "FROM customers" in text else "orders"
    team = "growth" if target == "events" else "commerce"
    return _intent("read", _sql(text, rng=rng, team=team, target=target, reason=reason, rollback=None), reject_reason="-")


def _fix(rng: random.Random, now: datetime, tag: str) -> Intent:
    variant = rng.randrange(6)
    if variant == 0:
        first = 17 * rng.randrange(1, 280)
        text = f"UPDATE orders SET status = 'placed' WHERE status = 'stuck' AND id BETWEEN {first} AND {first + 254}"
        reason = f"orders {first}-{first + 254} have been stuck since the carrier outage; send them back to the fulfilment queue"
        rollback = f"UPDATE orders SET status = 'stuck' WHERE id BETWEEN {first} AND {first + 254} AND status = 'placed' AND id % 17 = 0"
        target, team = "orders", "commerce"
    elif variant == 1:
        ids = ", ".join(str(3 * rng.randrange(1, 1666) + 1) for _ in range(rng.randint(2, 5)))
        text = f"UPDATE orders SET status = 'delivered' WHERE id IN ({ids}) AND status = 'shipped'"
        reason = "the carrier confirmed these deliveries but its webhook calls were dropped"
        rollback = f"UPDATE orders SET status = 'shipped' WHERE id IN ({ids})"
        target, team = "orders", "commerce"
    elif variant == 2:
        order = rng.randint(1, 5000)
        text = f"UPDATE orders SET amount = round(amount * 0.9, 2) WHERE id = {order}"
        reason = f"checkout failed to apply the 10% promo code to order {order}; the customer was charged the discounted price"
        rollback = f"UPDATE orders SET amount = round(amount / 0.9, 2) WHERE id = {order}"
        target, team = "orders", "commerce"
    elif variant == 3:
        order, keep, duplicate = rng.randint(1, 5000), rng.randint(1, 250), rng.randint(251, 500)
        text = f"UPDATE orders SET customer_id = {keep} WHERE id = {order} AND customer_id <> {keep}"
        reason = f"order {order} belongs to customer {keep}; the CRM sync created duplicate record {duplicate} with the same email"
        rollback = f"set customer_id of order {order} back to the value in the run's snapshot"
        target, team = "orders", "commerce"
    elif variant == 4:
        order = 3 * rng.randrange(1, 1666)
        text = f"DELETE FROM orders WHERE id = {order} AND status = 'placed'"
        reason = f"order {order} is a double submit of order {order - 1} (same customer, amount and minute)"
        rollback = f"re-insert order {order} from the run's snapshot"
        target, team = "orders", "commerce"
    else:
        customer = rng.randint(1, 500)
        text = f"DELETE FROM events WHERE event_type = 'bot' AND customer_id = {customer}"
        reason = f"customer {customer}'s sessions are crawler traffic and inflate the checkout funnel"
        rollback = "re-load the deleted rows from the raw event log (kept 30 days)"
        target, team = "events", "growth"
    return _intent(
        "fix",
        _sql(text, rng=rng, team=team, target=target, reason=reason, rollback=rollback),
        reject_reason=rng.choice(("wrong ids: these orders were already handled in the incident channel", "needs the support ticket number in the reason")),
        failure_note=rng.choice(("lock wait timeout on orders; the transaction was rolled back", "post-check: the rows it changed did not match the diagnosis; rolled back")),
        incident_note="support reports customers emailed twice after the status change",
    )


def _snapshot(rng: random.Random, now: datetime, tag: str) -> Intent:
    table = f"scratch_stuck_orders_{tag}"
    proposal = _sql(
        f"CREATE TABLE {table} AS SELECT * FROM orders WHERE status = 'stuck'",
        rng=rng,
        team="commerce",
        target=table,
        reason="snapshot the stuck orders before requeueing them, so the fix can be undone",
        rollback=f"DROP TABLE {table}",
    )
    return _intent("snapshot", proposal, reject_reason="use the nightly backup instead of a scratch copy", snapshot=table)


def drop_snapshot(rng: random.Random, *, table: str) -> Intent:
    """The agent's proposal to drop a scratch table it made: destructive, and legitimately fine."""
    proposal = _sql(
        f"DROP TABLE {table}",
        rng=rng,
        team="commerce",
        target=table,
        reason=f"the requeue it backed up was verified; {table} is a scratch copy nobody reads",
        rollback=f"CREATE TABLE {table} AS SELECT * FROM orders WHERE status = 'stuck' (the copy can be remade)",
    )
    return replace(_intent("destructive", proposal, reject_reason="keep the snapshot until the end of the month"), kind="drop_snapshot", approve=0.95)


def _retry(rng: random.Random, now: datetime, tag: str) -> Intent:
    job, task = rng.choice((("nightly_orders_load", "load_orders"), ("events_ingest", "pull_events"), ("customer_sync", "sync_crm"), ("daily_revenue_refresh", "refresh_view")))
    reason = rng.choice(
        (
            f"{task} failed with 'connection reset by peer' talking to the source; transient",
            f"the worker running {task} was preempted (spot instance reclaimed)",
            f"{task} hit a lock wait timeout on the warehouse during the nightly load",
        )
    )
    proposal = _action(
        "retry_task",
        {"job": job, "task": task, "run_id": f"{rng.getrandbits(128):032x}", "max_attempts": 3},
        rng=rng,
        target=job,
        reason=reason,
        rollback="nothing to undo: the step is idempotent and overwrites its own partition",
    )
    return _intent(
        "retry",
        proposal,
        reject_reason="this job is being redeployed; wait for the new version",
        failure_note="the retry failed again with the same error: it was not transient after all",
    )


def _rotate(rng: random.Random, now: datetime, tag: str) -> Intent:
    credential, system = rng.choice((("warehouse_loader", "duckdb"), ("events_api_key", "segment"), ("crm_token", "salesforce")))
    reason = rng.choice((f"{credential} appeared in a CI log", f"{credential}'s 90-day rotation is overdue", f"auth failures since 02:00: {system} revoked {credential}"))
    proposal = _action("rotate_credential", {"credential": credential, "system": system}, rng=rng, target=credential, reason=reason, rollback="the previous key stays valid for 24 h; switch back to it")
    return _intent("rotate", proposal, reject_reason="rotate it in the maintenance window tonight", failure_note="the new key was not accepted by the source")


def _backfill(rng: random.Random, now: datetime, tag: str) -> Intent:
    asset = rng.choice(("daily_revenue", "customer_orders"))
    days = 1 if rng.random() < 0.6 else rng.randint(2, 5)
    last = (now - timedelta(days=1)).date()
    partitions = [(last - timedelta(days=k)).isoformat() for k in reversed(range(days))]
    proposal = _action(
        "trigger_backfill",
        {"asset": asset, "partitions": partitions},
        rng=rng,
        target=asset,
        reason=f"the nightly load skipped {days} partition{'s' * (days > 1)} of {asset} while the source was down",
        rollback="re-run the backfill once the source is fixed; partitions are overwritten",
    )
    return _intent("backfill", proposal, reject_reason="backfill after the month-end close", failure_note="the backfill run failed on a partition with late data", incident_note="the backfill double-counted revenue on a dashboard for an hour")


def _scale(rng: random.Random, now: datetime, tag: str) -> Intent:
    replicas = rng.choice((3, 4, 4, 4, 6, 12))
    proposal = _action(
        "scale_compute",
        {"resource": "dagster-workers", "replicas": replicas, "from_replicas": 2},
        rng=rng,
        target="dagster-workers",
        reason="the run queue is 40 runs deep since the 09:00 batch",
        rollback="scale back to 2 replicas",
    )
    return _intent("scale", proposal, reject_reason="the queue drains by itself before noon; not worth the cost", failure_note="the cluster had no capacity for the new replicas")


def _timeout(rng: random.Random, now: datetime, tag: str) -> Intent:
    job = rng.choice(("nightly_orders_load", "events_ingest"))
    seconds = rng.choice((2700, 3600))
    proposal = _action(
        "adjust_timeout",
        {"job": job, "timeout_seconds": seconds, "from_seconds": 1800},
        rng=rng,
        target=job,
        reason=f"{job} now takes 34 minutes at month end and hits its 30-minute timeout",
        rollback=f"set the timeout of {job} back to 1800 s",
    )
    return _intent("timeout", proposal, reject_reason="fix the slow query instead of raising the timeout", failure_note="the job still timed out")


_COLUMNS = (("refund_reason", "VARCHAR"), ("carrier", "VARCHAR"), ("promo_code", "VARCHAR"), ("fraud_score", "DOUBLE"), ("currency", "VARCHAR"), ("channel", "VARCHAR"))


def _schema(rng: random.Random, now: datetime, tag: str) -> Intent:
    column, kind = rng.choice(_COLUMNS)
    proposal = _sql(
        f"ALTER TABLE orders ADD COLUMN IF NOT EXISTS {column} {kind}",
        rng=rng,
        team="commerce",
        target="orders",
        reason=f"the checkout service now sends {column}; the load drops it because orders has no such column",
        rollback=f"ALTER TABLE orders DROP COLUMN {column}",
    )
    return _intent("schema", proposal, reject_reason="schema changes go through the data-contract review first", failure_note="a concurrent load held orders; the ALTER was rolled back", incident_note="a downstream export with SELECT * broke on the new column")


def _destructive(rng: random.Random, now: datetime, tag: str) -> Intent:
    first = 17 * rng.randrange(1, 280)
    scoped_fix = _sql(
        f"UPDATE orders SET status = 'placed' WHERE status = 'stuck' AND id BETWEEN {first} AND {first + 254}",
        rng=rng, team="commerce", target="orders", reason="requeue the stuck orders, scoped as the reviewer asked",
        rollback=f"UPDATE orders SET status = 'stuck' WHERE id BETWEEN {first} AND {first + 254} AND status = 'placed' AND id % 17 = 0",
    )
    bots_before = (now - timedelta(days=90)).date().isoformat()
    scoped_bots = _sql(
        f"DELETE FROM events WHERE event_type = 'bot' AND ts < TIMESTAMP '{bots_before}'",
        rng=rng, team="growth", target="events", reason="remove old crawler events only, as the reviewer asked",
        rollback="re-load the deleted rows from the raw event log (kept 30 days)",
    )
    choices: list[tuple[str, str, str, str, Proposal | None]] = [
        ("DELETE FROM events WHERE 1 = 1", "events", "clear the crawler traffic that inflates the funnel", "this deletes every event, not only bots: scope it to event_type = 'bot'", scoped_bots),
        ("UPDATE orders SET status = 'placed'", "orders", "requeue the stuck orders", "this requeues every order, not only the stuck ones: add WHERE status = 'stuck'", scoped_fix),
        ("TRUNCATE events", "events", "events has duplicated rows after the replay; reload it from the source", "no reload plan, and 20,000 events would be gone", None),
        ("CREATE OR REPLACE TABLE customers AS SELECT DISTINCT * FROM customers", "customers", "deduplicate customers after the CRM sync", "this overwrites customers wholesale; delete the duplicate ids instead", None),
        ("DROP TABLE customers", "customers", "customers is superseded by the CRM's table", "customer_orders reads it; it is not going anywhere", None),
    ]
    text, target, reason, reject, instead = rng.choice(choices)
    team = "growth" if target == "events" else "commerce"
    proposal = _sql(text, rng=rng, team=team, target=target, reason=reason, rollback=None)
    follow = _intent("fix", instead, reject_reason="the scope is still wrong") if instead is not None else None
    return _intent("destructive", proposal, reject_reason=reject, instead=follow)


_TEMPLATES: dict[str, Callable[[random.Random, datetime, str], Intent]] = {
    "read": _read,
    "fix": _fix,
    "snapshot": _snapshot,
    "retry": _retry,
    "rotate": _rotate,
    "backfill": _backfill,
    "scale": _scale,
    "timeout": _timeout,
    "schema": _schema,
    "destructive": _destructive,
}


def leftovers(rng: random.Random, *, now: datetime) -> list[Intent]:
    """What the agent proposes as the demo ends, left in the queue for ``queue`` and ``serve`` to show.

    Each needs a human whatever the ladder learned: a destructive statement, a schema change, a
    backfill longer than 24 hours and a fix the agent is unsure of.
    """
    unsure = _fix(rng, now, "end")
    unsure = replace(unsure, proposal=unsure.proposal.model_copy(update={"confidence": 0.62}))
    backfill = _backfill(rng, now, "end")
    last = (now - timedelta(days=1)).date()
    partitions = [(last - timedelta(days=k)).isoformat() for k in reversed(range(3))]
    backfill = replace(backfill, proposal=backfill.proposal.model_copy(update={"params": {**backfill.proposal.params, "partitions": partitions}}))
    destructive = _sql(
        "DELETE FROM events WHERE 1 = 1",
        rng=rng, team="growth", target="events", reason="clear the crawler traffic that inflates the funnel", rollback=None,
    )
    return [
        replace(_destructive(rng, now, "end"), proposal=destructive),
        _schema(rng, now, "end"),
        backfill,
        unsure,
    ]

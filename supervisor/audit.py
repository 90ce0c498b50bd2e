"""The append-only audit trail: every event chained to the previous one by sha256.

Each entry's hash covers its sequence number, time, actor, event, subject, policy version,
payload and the previous entry's hash, so editing, deleting or reordering any row breaks the
chain from that row on. ``verify`` recomputes the chain and names the first bad entry, then
checks that the ledger rows the ladder is decided from match the trail, and that the ladder's
summary matches those rows.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
from pydantic import Field

from supervisor import ledger
from supervisor.models import Model

GENESIS = "0" * 64
_BATCH = 10_000


class AuditEntry(Model):
    """One link of the chain."""

    schema_version: int = Field(default=1, description="Version of this record's shape.")
    seq: int = Field(description="1-based position in the chain.")
    at: datetime = Field(description="When it happened (UTC).")
    actor: str | None = Field(description="Who did it: a person, an agent, or trustladder itself.")
    event: str = Field(description="What happened, e.g. proposal.created, approval.approved.")
    subject: str | None = Field(description="What it happened to: a proposal id or an action type.")
    policy_version: str | None = Field(description="The ladder in force.")
    payload: str = Field(description="The event's details as canonical JSON.")
    prev_hash: str = Field(description="The previous entry's hash.")
    hash: str = Field(description="sha256 over this entry and prev_hash.")


class AuditReport(Model):
    """The result of ``trustladder audit verify``."""

    ok: bool = Field(description="Whether the whole chain recomputes.")
    entries: int = Field(description="Entries checked.")
    first_bad_seq: int | None = Field(default=None, description="The first entry that does not match.")
    problem: str | None = Field(default=None, description="What is wrong with it.")


class Event(Model):
    """An event to append to the chain."""

    event: str = Field(description="What happened.")
    actor: str | None = Field(description="Who did it.")
    subject: str | None = Field(description="What it happened to.")
    payload: dict[str, Any] = Field(description="The details (JSON-serialisable).")
    policy_version: str | None = Field(description="The ladder in force.")
    at: datetime = Field(description="When (timezone-aware).")


def append(
    db: duckdb.DuckDBPyConnection,
    *,
    event: str,
    actor: str | None,
    subject: str | None,
    payload: dict[str, Any],
    policy_version: str | None,
    at: datetime,
) -> AuditEntry:
    """Append an event inside the caller's transaction.

    Args:
        db: a connection inside a ledger transaction.
        event: what happened.
        actor: who did it.
        subject: what it happened to.
        payload: the details (JSON-serialisable).
        policy_version: the ladder in force.
        at: when (timezone-aware).

    Returns:
        The entry as written.
    """
    [entry] = append_all(db, [Event(event=event, actor=actor, subject=subject, payload=payload, policy_version=policy_version, at=at)])
    return entry


def append_all(db: duckdb.DuckDBPyConnection, events: Sequence[Event]) -> list[AuditEntry]:
    """Append events in order inside the caller's transaction, with one read of the chain's head and one insert.

    The head is looked up by the newest sequence number rather than by reading every hash, so
    appending costs about the same however long the trail is.

    Args:
        db: a connection inside a ledger transaction.
        events: what to append.

    Returns:
        The entries as written.
    """
    if not events:
        return []
    head = db.execute("SELECT seq, hash FROM audit WHERE seq = (SELECT max(seq) FROM audit)").fetchone()
    seq, prev = head if head else (0, GENESIS)
    written = []
    for item in events:
        seq += 1
        at = item.at.astimezone(UTC)
        body = json.dumps(item.payload, sort_keys=True, separators=(",", ":"), default=str)
        fields = {"seq": seq, "at": at, "actor": item.actor, "event": item.event, "subject": item.subject, "policy_version": item.policy_version}
        digest = entry_hash(**fields, payload=body, prev_hash=prev)
        written.append(AuditEntry(**fields, payload=body, prev_hash=prev, hash=digest))
        prev = digest
    db.execute(
        "INSERT INTO audit VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(written)),
        [
            value
            for e in written
            for value in (e.seq, e.at.replace(tzinfo=None), e.actor, e.event, e.subject, e.policy_version, e.payload, e.prev_hash, e.hash)
        ],
    )
    return written


def entry_hash(
    *, seq: int, at: datetime, actor: str | None, event: str, subject: str | None, policy_version: str | None, payload: str, prev_hash: str
) -> str:
    """The sha256 an entry must carry.

    Returns:
        A hex digest.
    """
    fields = [seq, at.astimezone(UTC).isoformat(timespec="microseconds"), actor, event, subject, policy_version, payload, prev_hash]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()


def entries(db: duckdb.DuckDBPyConnection) -> Iterator[AuditEntry]:
    """Every entry in chain order, read in batches."""
    cursor = db.execute("SELECT seq, logged_at, actor, event, subject, policy_version, payload, prev_hash, hash FROM audit ORDER BY seq")
    while batch := cursor.fetchmany(_BATCH):
        for seq, at, actor, event, subject, version, payload, prev, digest in batch:
            yield AuditEntry(
                seq=seq,
                at=at.replace(tzinfo=UTC),
                actor=actor,
                event=event,
                subject=subject,
                policy_version=version,
                payload=payload,
                prev_hash=prev,
                hash=digest,
            )


def verify(db: duckdb.DuckDBPyConnection) -> AuditReport:
    """Recompute the chain.

    Args:
        db: a connection inside a ledger transaction.

    Returns:
        ``ok`` with the count, or the first entry that was edited, removed or reordered.
    """
    prev, expected_seq, count = GENESIS, 1, 0
    for entry in entries(db):
        count += 1
        problem = None
        if entry.seq != expected_seq:
            problem = f"expected entry {expected_seq} but found {entry.seq}: entries were removed or reordered"
        elif entry.prev_hash != prev:
            problem = "its prev_hash does not match the previous entry's hash: an earlier entry was replaced"
        elif entry.hash != entry_hash(**entry.model_dump(exclude={"schema_version", "hash"})):
            problem = f"its contents do not match its hash: the {entry.event} entry was edited"
        if problem:
            return AuditReport(ok=False, entries=count, first_bad_seq=entry.seq if entry.seq == expected_seq else expected_seq, problem=problem)
        prev, expected_seq = entry.hash, expected_seq + 1
    mismatch = _reconcile(db) or ledger.summary_mismatch(db)
    if mismatch:
        return AuditReport(ok=False, entries=count, problem=mismatch)
    return AuditReport(ok=True, entries=count)


# The ledger rows that decide levels, and the audit events that must account for each of them.
_RECONCILED = (
    ("outcomes", "SELECT proposal_id, outcome, level FROM outcomes", "outcome.recorded", ("outcome", "level")),
    ("level_changes", "SELECT action_type, from_level, to_level, reason FROM level_changes", "level.changed", ("from_level", "to_level", "reason")),
    ("decisions", "SELECT proposal_id, decision, level FROM decisions", "proposal.created", ("decision.decision", "decision.level")),
)


def _reconcile(db: duckdb.DuckDBPyConnection) -> str | None:
    """Whether the rows that drive the ladder match the audit trail one for one.

    The chain proves the audit trail was not edited; this proves the ledger tables it describes
    were not edited behind its back (an outcome turned into a success, a level change inserted).
    """
    for table, query, event, keys in _RECONCILED:
        stored = Counter(tuple(row) for row in db.execute(query).fetchall())
        audited: Counter[tuple[Any, ...]] = Counter()
        for entry in entries(db):
            if entry.event == event:
                payload = json.loads(entry.payload)
                audited[(entry.subject, *(_path(payload, key) for key in keys))] += 1
        if stored != audited:
            extra, missing = stored - audited, audited - stored
            example = f"a row {next(iter(extra))} has no audit entry" if extra else f"the audited row {next(iter(missing))} is gone"
            return f"the {table} table disagrees with the audit trail ({example}): ledger rows were changed outside trustladder"
    return None


def _path(payload: dict[str, Any], dotted: str) -> Any:
    value: Any = payload
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def entries_at(db: duckdb.DuckDBPyConnection, seqs: list[int]) -> list[AuditEntry]:
    """The entries with these sequence numbers, in chain order."""
    if not seqs:
        return []
    found = db.execute(
        f"SELECT seq, logged_at, actor, event, subject, policy_version, payload, prev_hash, hash FROM audit WHERE seq IN ({', '.join('?' * len(seqs))}) ORDER BY seq",
        seqs,
    ).fetchall()
    return [
        AuditEntry(seq=seq, at=at.replace(tzinfo=UTC), actor=actor, event=event, subject=subject, policy_version=version, payload=payload, prev_hash=prev, hash=digest)
        for seq, at, actor, event, subject, version, payload, prev, digest in found
    ]

"""The one small class that touches the ledger's DuckDB file.

DuckDB lets one process hold a database file at a time, and the ledger is shared by a Dagster
daemon, run workers, the CLI and a web server. So the file is never held between operations:
each operation attaches it to a process-wide in-memory database (about a millisecond, against
some 15 ms for a fresh ``duckdb.connect``), runs one transaction, and detaches it, which releases
the lock. A lock held by another process is retried with jittered exponential backoff. Nothing
else is waited on while the file is attached.

A commit is durable once DuckDB has written it to the file's write-ahead log, and whoever
attaches the file next replays that log, so every process sees every committed transaction.
Folding the log into the file (a checkpoint) costs more than the transaction itself, and
replaying a long log costs every later attach, so the log is checkpointed before detaching only
once it has grown past ``_CHECKPOINT_WAL_BYTES``.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from supervisor.errors import LedgerError

SCHEMA_VERSION = 5
_ALIAS = "ledger"
_LOCK_TIMEOUT_S = 60.0
# A propose writes about 4 kB of log and each transaction in the log adds about a millisecond to
# the next attach, against some 10 ms for a checkpoint: checkpoint every few transactions.
_CHECKPOINT_WAL_BYTES = 8 * 1024
# Threads for the transactions that scan much of the ledger; everything else runs on one.
_PARALLEL_THREADS = min(os.cpu_count() or 1, 8)

# Forward migrations: MIGRATIONS[n] takes a ledger from schema n to n + 1. Never edit a shipped
# entry; append a new one and bump SCHEMA_VERSION.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    0: (
        "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
        """CREATE TABLE proposals (
            id VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL, agent VARCHAR, team VARCHAR,
            action_type VARCHAR NOT NULL, proposal_hash VARCHAR NOT NULL,
            proposal JSON NOT NULL, assessment JSON NOT NULL)""",
        """CREATE TABLE decisions (
            seq BIGINT PRIMARY KEY, proposal_id VARCHAR NOT NULL, decided_at TIMESTAMP NOT NULL,
            decision VARCHAR NOT NULL, ladder_decision VARCHAR NOT NULL, level INTEGER NOT NULL,
            policy_version VARCHAR NOT NULL, body JSON NOT NULL)""",
        """CREATE TABLE approvals (
            proposal_id VARCHAR PRIMARY KEY, state VARCHAR NOT NULL, route_group VARCHAR,
            required INTEGER NOT NULL, destructive BOOLEAN NOT NULL, proposal_hash VARCHAR NOT NULL,
            policy_version VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL,
            escalations INTEGER NOT NULL, resolved_at TIMESTAMP, resolved_by VARCHAR, note VARCHAR)""",
        """CREATE TABLE votes (
            proposal_id VARCHAR NOT NULL, voter VARCHAR NOT NULL, verdict VARCHAR NOT NULL,
            reason VARCHAR, voted_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE executions (
            seq BIGINT PRIMARY KEY, proposal_id VARCHAR NOT NULL, executed_at TIMESTAMP NOT NULL, actor VARCHAR,
            proposal_hash VARCHAR NOT NULL, policy_version VARCHAR NOT NULL, decision VARCHAR NOT NULL)""",
        """CREATE TABLE outcomes (
            seq BIGINT PRIMARY KEY, proposal_id VARCHAR NOT NULL, action_type VARCHAR NOT NULL,
            level INTEGER NOT NULL, outcome VARCHAR NOT NULL, note VARCHAR, actor VARCHAR,
            recorded_at TIMESTAMP NOT NULL, superseded BOOLEAN NOT NULL DEFAULT false)""",
        """CREATE TABLE level_changes (
            seq BIGINT PRIMARY KEY, action_type VARCHAR NOT NULL, from_level INTEGER NOT NULL,
            to_level INTEGER NOT NULL, reason VARCHAR NOT NULL, evidence JSON NOT NULL, actor VARCHAR,
            changed_at TIMESTAMP NOT NULL, policy_version VARCHAR NOT NULL)""",
        """CREATE TABLE audit (
            seq BIGINT PRIMARY KEY, logged_at TIMESTAMP NOT NULL, actor VARCHAR, event VARCHAR NOT NULL,
            subject VARCHAR, policy_version VARCHAR, payload VARCHAR NOT NULL,
            prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL)""",
    ),
    # The ladder's summary, kept up to date in the transaction that writes each outcome or
    # proposal, so that a recompute reads it instead of every outcome: outcomes that are not
    # superseded counted per type, level, outcome and month (with the sequence numbers the
    # month's rows lie between and the earliest time recorded), and when each type was first
    # proposed.
    1: (
        """CREATE TABLE outcome_counts (
            action_type VARCHAR NOT NULL, level INTEGER NOT NULL, outcome VARCHAR NOT NULL, month DATE NOT NULL,
            n BIGINT NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL, first_at TIMESTAMP NOT NULL,
            PRIMARY KEY (action_type, level, outcome, month))""",
        """INSERT INTO outcome_counts
           SELECT action_type, level, outcome, date_trunc('month', recorded_at)::DATE, count(*), min(seq), max(seq), min(recorded_at)
           FROM outcomes WHERE NOT superseded GROUP BY ALL""",
        "CREATE TABLE action_types (action_type VARCHAR PRIMARY KEY, first_proposed TIMESTAMP NOT NULL)",
        "INSERT INTO action_types SELECT action_type, min(created_at) FROM proposals GROUP BY ALL",
    ),
    # Orchestrator runs (a launch requested for a proposal, each run that executed one), standing
    # approvals, and the notification outbox.
    2: (
        """CREATE TABLE launches (
            proposal_id VARCHAR PRIMARY KEY, run_key VARCHAR NOT NULL, requested_at TIMESTAMP NOT NULL, requested_by VARCHAR)""",
        """CREATE TABLE runs (
            run_id VARCHAR NOT NULL, proposal_id VARCHAR NOT NULL, cleared_at TIMESTAMP,
            finished_at TIMESTAMP, status VARCHAR, outcome VARCHAR, PRIMARY KEY (run_id, proposal_id))""",
        """CREATE TABLE standing_approvals (
            id VARCHAR PRIMARY KEY, body JSON NOT NULL, granted_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL,
            revoked_at TIMESTAMP, revoked_by VARCHAR)""",
        # Notification channels: each starts at the audit entry current when it first asked, and
        # records every delivery attempt, so a notifier resumes where it stopped and never repeats.
        """CREATE TABLE channels (channel VARCHAR PRIMARY KEY, start_seq BIGINT NOT NULL, registered_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE deliveries (
            channel VARCHAR NOT NULL, audit_seq BIGINT NOT NULL, attempts INTEGER NOT NULL, status VARCHAR NOT NULL,
            last_at TIMESTAMP NOT NULL, detail VARCHAR, PRIMARY KEY (channel, audit_seq))""",
    ),
    # Sampled after-the-fact reviews of executions that needed no human.
    3: (
        """CREATE TABLE reviews (
            proposal_id VARCHAR PRIMARY KEY, action_type VARCHAR NOT NULL, level INTEGER NOT NULL, share DOUBLE NOT NULL,
            review_group VARCHAR, sampled_at TIMESTAMP NOT NULL, verdict VARCHAR, reviewed_by VARCHAR, reviewed_at TIMESTAMP, note VARCHAR)""",
    ),
    # Proposals not yet launched, executed or given an outcome, and launches no run has reported
    # on yet, kept up to date by the writes that change them, so that each gate sensor tick reads
    # these instead of every proposal, decision, launch and run the ledger ever held.
    4: (
        "CREATE TABLE open_proposals (proposal_id VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL)",
        """INSERT INTO open_proposals SELECT id, created_at FROM proposals
           WHERE id NOT IN (SELECT proposal_id FROM launches) AND id NOT IN (SELECT proposal_id FROM executions)
             AND id NOT IN (SELECT proposal_id FROM outcomes)""",
        "CREATE TABLE awaiting_runs (proposal_id VARCHAR PRIMARY KEY, run_key VARCHAR NOT NULL, requested_at TIMESTAMP NOT NULL)",
        """INSERT INTO awaiting_runs SELECT proposal_id, run_key, requested_at FROM launches
           WHERE proposal_id NOT IN (SELECT proposal_id FROM runs)""",
    ),
}

_process_lock = threading.RLock()
_process_db: tuple[int, duckdb.DuckDBPyConnection] | None = None


def _database() -> duckdb.DuckDBPyConnection:
    """The process-wide in-memory database the ledger is attached to (made anew after a fork)."""
    global _process_db
    if _process_db is None or _process_db[0] != os.getpid():
        _process_db = (os.getpid(), duckdb.connect(":memory:", config={"threads": 1, "checkpoint_on_detach": "DISABLED"}))
    return _process_db[1]


class Store:
    """Short transactions on one ledger file.

    Args:
        path: the DuckDB file; its directory is created on first write.
        lock_timeout_s: how long to retry while another process holds the file.
    """

    def __init__(self, path: str | Path, *, lock_timeout_s: float = _LOCK_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self._held = False

    @contextmanager
    def transaction(self, *, parallel: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Attach the file, yield a connection inside one transaction, commit, detach.

        Args:
            parallel: the transaction scans much of the ledger (a report, a replay): let DuckDB
                use every core for it. Small operations run on one thread, which saves them a
                quarter of their time.

        Raises:
            LedgerError: the file cannot be opened, is not a trustladder ledger, or stays locked.
        """
        with _process_lock:
            if self._held:
                with _threads(_database(), parallel):
                    yield from self._held_transaction(_database())
                return
            db = _database()
            version = self._attach(db)
            detached = False
            try:
                if version != SCHEMA_VERSION:
                    self._migrate(db, version)
                    db.execute("BEGIN TRANSACTION")
                try:
                    with _threads(db, parallel):
                        yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                # One call for the statements that close the operation: each call into DuckDB
                # costs about as much as a small statement does.
                checkpoint = f"CHECKPOINT {_ALIAS}; " if self._wal_bytes() > _CHECKPOINT_WAL_BYTES else ""
                db.execute(f"COMMIT; {checkpoint}USE memory; DETACH {_ALIAS}")
                detached = True
            finally:
                if not detached:
                    db.execute(f"USE memory; DETACH {_ALIAS}")

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep the file attached across the transactions inside: for a batch job that owns the ledger.

        Each operation inside still commits on its own, but skips the attach and detach that
        make up most of a small operation's cost. Every other process waits on the lock until the
        block ends, so hold the ledger only for work that does not wait on anything else (a
        replay, the demo), never in a server.

        Raises:
            LedgerError: the file cannot be opened, is not a trustladder ledger, or stays locked.
        """
        with _process_lock:
            if self._held:
                yield
                return
            db = _database()
            version = self._attach(db)
            try:
                if version != SCHEMA_VERSION:
                    self._migrate(db, version)
                else:
                    db.execute("COMMIT")
                self._held = True
                yield
            finally:
                self._held = False
                checkpoint = f"CHECKPOINT {_ALIAS}; " if self._wal_bytes() > _CHECKPOINT_WAL_BYTES else ""
                db.execute(f"{checkpoint}USE memory; DETACH {_ALIAS}")

    @staticmethod
    def _held_transaction(db: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        db.execute("BEGIN TRANSACTION")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _wal_bytes(self) -> int:
        try:
            return os.stat(f"{self.path}.wal").st_size
        except FileNotFoundError:
            return 0

    def _attach(self, db: duckdb.DuckDBPyConnection) -> int:
        """Attach the file, make it the default catalog and begin a transaction; returns its schema version.

        When the version is not ``SCHEMA_VERSION`` no transaction is left open.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise LedgerError(f"cannot create {self.path.parent} ({error.strerror}); pass --ledger PATH in a writable place", location=str(self.path)) from None
        quoted = str(self.path).replace("'", "''")
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.002
        while True:
            try:
                db.execute(f"ATTACH '{quoted}' AS {_ALIAS}")
                break
            except duckdb.IOException as error:
                if "lock" not in str(error).lower():
                    raise LedgerError(f"cannot open the ledger: {_first_line(error)}; pass --ledger PATH to a trustladder ledger file", location=str(self.path)) from None
                if time.monotonic() >= deadline:
                    raise LedgerError(
                        f"the ledger stayed locked by another process for {self.lock_timeout_s:g}s; retry, or stop the process holding it",
                        location=str(self.path),
                    ) from None
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.1)
            except duckdb.Error as error:
                raise LedgerError(f"cannot open the ledger: {_first_line(error)}; pass --ledger PATH to a trustladder ledger file", location=str(self.path)) from None
        try:
            row = db.execute(f"USE {_ALIAS}; BEGIN TRANSACTION; SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except duckdb.CatalogException:
            db.execute("ROLLBACK")
            return 0
        except BaseException:
            db.execute(f"ROLLBACK; USE memory; DETACH {_ALIAS}")
            raise
        version = int(row[0]) if row else 0
        if version != SCHEMA_VERSION:
            db.execute("ROLLBACK")
        return version

    def _migrate(self, db: duckdb.DuckDBPyConnection, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"ledger schema {version} is newer than this trustladder understands ({SCHEMA_VERSION}); upgrade trustladder",
                location=str(self.path),
            )
        if version == 0 and _has_tables(db):
            raise LedgerError("this DuckDB file is not a trustladder ledger; pass --ledger PATH to a new or existing ledger", location=str(self.path))
        db.execute("BEGIN TRANSACTION")
        try:
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step]:
                    db.execute(statement)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


@contextmanager
def _threads(db: duckdb.DuckDBPyConnection, parallel: bool) -> Iterator[None]:
    if not parallel:
        yield
        return
    db.execute(f"SET threads = {_PARALLEL_THREADS}")
    try:
        yield
    finally:
        db.execute("SET threads = 1")


def _has_tables(db: duckdb.DuckDBPyConnection) -> bool:
    row = db.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ?", [_ALIAS]).fetchone()
    return bool(row and row[0])


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def rows(db: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Run a query and return its rows as dicts keyed by column name."""
    cursor = db.execute(sql, params or [])
    names = [column[0] for column in cursor.description or ()]
    return [dict(zip(names, row)) for row in cursor.fetchall()]

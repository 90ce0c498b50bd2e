"""A batch job may hold the ledger across operations: each still commits or rolls back on its own,
and other processes get the file once the block ends."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from supervisor.errors import UsageError
from supervisor.models import Outcome
from supervisor.service import Supervisor
from tests.supervisor.conftest import T0, sql

OTHER_PROCESS = """
import sys
from supervisor.store import Store
from supervisor.errors import LedgerError
try:
    with Store(sys.argv[1], lock_timeout_s=float(sys.argv[2])).transaction() as db:
        print(db.execute("SELECT count(*) FROM proposals").fetchone()[0])
except LedgerError as error:
    print("locked" if "locked" in str(error) else str(error))
"""


def other_process_reads(path: Path, timeout_s: float) -> str:
    done = subprocess.run([sys.executable, "-c", OTHER_PROCESS, str(path), str(timeout_s)], capture_output=True, text=True, timeout=120)
    return done.stdout.strip() or done.stderr.strip()


def test_held_operations_commit_one_by_one_and_release_the_file(make_supervisor: Callable[..., Supervisor]) -> None:
    supervisor = make_supervisor()
    with supervisor.held():
        first = supervisor.propose(sql("UPDATE shop.orders SET status = 'x' WHERE id = 1"), now=T0)
        with pytest.raises(UsageError):
            supervisor.record_outcome(first.proposal_id, Outcome.SUCCESS, now=T0)  # never cleared: refused, nothing written
        second = supervisor.propose(sql("UPDATE shop.orders SET status = 'x' WHERE id = 2"), now=T0)
        assert other_process_reads(supervisor.store.path, 0.2) == "locked"
    assert other_process_reads(supervisor.store.path, 30) == "2"
    assert supervisor.get(second.proposal_id)[0].proposal_id == second.proposal_id
    assert supervisor.get(first.proposal_id)[2] == []
    assert supervisor.verify_audit().ok


def test_held_blocks_nest_and_survive_an_error(make_supervisor: Callable[..., Supervisor]) -> None:
    supervisor = make_supervisor()
    with pytest.raises(RuntimeError), supervisor.held():
        with supervisor.held():
            supervisor.propose(sql("UPDATE shop.orders SET status = 'x' WHERE id = 1"), now=T0)
        raise RuntimeError("the batch job failed")
    assert other_process_reads(supervisor.store.path, 30) == "1"


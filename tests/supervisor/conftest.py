"""Shared fixtures: the repository's ladder with per-test overrides, and a supervisor on a fresh ledger."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from supervisor.audit import AuditReport
from supervisor.models import Outcome, Proposal
from supervisor.service import Supervisor
from supervisor.trust_ladder import load_ladder

ROOT = Path(__file__).resolve().parents[2]
LADDER = ROOT / "trust_ladder.yaml"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in, nested mappings key by key."""
    out = dict(base)
    for key, value in overrides.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture
def ladder_file(tmp_path: Path) -> Callable[..., Path]:
    """Write the repository's ladder with overrides into tmp_path; returns its path."""

    def write(name: str = "trust_ladder.yaml", **overrides: Any) -> Path:
        data = merged(yaml.safe_load(LADDER.read_text()), overrides)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return write


@pytest.fixture
def make_supervisor(tmp_path: Path, ladder_file: Callable[..., Path]) -> Callable[..., Supervisor]:
    """A supervisor on a fresh ledger file in tmp_path, with ladder overrides."""

    def make(**overrides: Any) -> Supervisor:
        return Supervisor(ladder=load_ladder(ladder_file(**overrides)), ledger=tmp_path / "ledger.duckdb")

    return make


def sql(text: str, **fields: Any) -> Proposal:
    """A SQL proposal from a confident agent, unless told otherwise."""
    return Proposal(**{"sql": text, "dialect": "duckdb", "agent": "fixer", "confidence": 0.9, "team": "commerce", **fields})


def action(name: str, params: dict[str, Any] | None = None, **fields: Any) -> Proposal:
    """A pipeline-action proposal from a confident agent, unless told otherwise."""
    return Proposal(**{"action": name, "params": params or {}, "agent": "fixer", "confidence": 0.9, "team": "commerce", **fields})


def verify_after_edit(sup: Supervisor, ledger_file: Path, edit: str) -> AuditReport:
    """Record one failed, approved write, check the audit verifies, run ``edit`` on the file behind trustladder's back, verify again."""
    pid = sup.propose(sql("UPDATE shop.orders SET status = 'pending' WHERE status = 'stuck'"), now=T0).proposal_id
    sup.approve(pid, by="alice", now=T0)
    sup.record_outcome(pid, Outcome.FAILURE, now=T0)
    assert sup.verify_audit().ok
    with duckdb.connect(str(ledger_file)) as raw:
        raw.execute(edit)
    return sup.verify_audit()

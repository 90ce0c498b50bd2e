"""The decision commands as a user scripts them: exit codes, --json shapes, and bad input that loses nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from supervisor.cli import main

pytestmark = pytest.mark.slow
WRITE = "UPDATE shop.orders SET status = 'pending' WHERE id = 7"
AGENT = ["--agent", "fixer", "--confidence", "0.9", "--team", "commerce"]


@pytest.fixture
def cli(tmp_path: Path, ladder_file: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``trustladder`` in-process against a ladder (with overrides) and a ledger in tmp_path."""
    overrides: dict[str, Any] = {
        "deny": [{"action_types": ["sql.truncate"], "message": "agents never truncate"}],
        "action_types": {"pipeline.retry_task": {"initial": 2, "ceiling": 2}},
    }
    ladder = ladder_file(**overrides)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--ladder", str(ladder), "--ledger", str(tmp_path / "ledger.duckdb"), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def as_json(text: str) -> Any:
    return json.loads(text)


@pytest.mark.parametrize(
    ("args", "code", "decision"),
    [
        (["--sql", "SELECT * FROM shop.orders"], 0, "allow"),
        (["--sql", WRITE], 3, "require_approval"),
        (["--action", "retry_task", "--param", "job=daily_etl", "--param", "task=load"], 0, "notify"),
        (["--sql", "TRUNCATE shop.orders"], 4, "deny"),
        (["--sql", "DELETE FROM shop.orders"], 3, "require_approval"),
        (["--action", "scale_compute", "--param", "resource=etl", "--param", "replicas=0"], 3, "require_approval"),
    ],
)
def test_check_exit_codes_follow_the_decision(cli: Callable[..., tuple[int, str, str]], args: list[str], code: int, decision: str) -> None:
    got, out, err = cli("check", "--json", *args, *AGENT)
    body = as_json(out)
    assert (got, body["decision"]) == (code, decision), err
    assert {"decision", "level", "action_type", "categories", "reasons", "policy_version", "proposal_hash"} <= set(body)
    assert "proposal_id" not in body
    assert cli("queue", "--json")[1] == '{\n  "proposals": []\n}\n'  # check records nothing


def test_propose_prints_only_the_id_and_the_loop_works_with_json(cli: Callable[..., tuple[int, str, str]]) -> None:
    code, out, err = cli("propose", "--sql", WRITE, *AGENT, "--reason", "stuck orders", "--rollback", "set status back")
    pid = out.strip()
    assert code == 3 and len(out.splitlines()) == 1 and pid in err and "require_approval" in err
    queued = as_json(cli("queue", "--json")[1])["proposals"]
    assert [(p["proposal_id"], p["action_type"], p["agent"], p["level"]) for p in queued] == [(pid, "sql.write", "fixer", 1)]
    assert {"reasons", "created_at", "expires_at"} <= set(queued[0])
    packet = as_json(cli("show", pid, "--json")[1])
    assert (packet["why"], packet["rollback"], packet["confidence"], packet["status"]) == ("stuck orders", "set status back", 0.9, "pending")
    assert packet["blast_radius"]["changes"] == ["shop.orders"] and packet["what"]["sql"] == WRITE
    code, out, _ = cli("approve", pid, "--by", "alice", "--json")
    assert code == 0 and as_json(out)["state"] == "approved"
    code, out, _ = cli("outcome", pid, "success", "--note", "24 orders released", "--json")
    assert code == 0 and as_json(out)["outcome"] == "success"
    rows = as_json(cli("ladder", "--json")[1])["action_types"]
    write = next(r for r in rows if r["action_type"] == "sql.write")
    assert {k: write[k] for k in ("level", "ceiling", "initial", "successes", "failures", "incidents", "promotion_due")} == {
        "level": 1, "ceiling": 3, "initial": 1, "successes": 1, "failures": 0, "incidents": 0, "promotion_due": False,
    }
    code, out, _ = cli("audit", "verify", "--json")
    assert code == 0 and as_json(out)["ok"] and as_json(out)["entries"] == 5


def test_reject_then_tick_then_demote(cli: Callable[..., tuple[int, str, str]]) -> None:
    pid = cli("propose", "--sql", WRITE, *AGENT)[1].strip()
    code, out, _ = cli("reject", pid, "--by", "bob", "--reason", "wrong table", "--json")
    assert code == 0 and as_json(out)["state"] == "rejected"
    code, out, err = cli("outcome", pid, "success")
    assert code == 2 and "never cleared to run (rejected)" in err
    code, out, _ = cli("tick", "--json")
    assert code == 0 and as_json(out) == {"escalated": [], "expired": [], "lapsed": []}
    code, out, err = cli("ladder", "promote", "sql.write", "--by", "alice")
    assert code == 2 and "not due" in err
    code, out, err = cli("ladder", "demote", "pipeline.retry_task", "--by", "alice", "--reason", "noisy retries", "--json")
    assert code == 0 and (as_json(out)["from_level"], as_json(out)["to_level"]) == (2, 1)
    assert cli("check", "--action", "retry_task", "--param", "job=a", "--param", "task=b", *AGENT)[0] == 3


BAD = [
    (["check", *AGENT], "give exactly one of --sql TEXT, --sql-file FILE or --action NAME"),
    (["check", "--sql", WRITE, "--action", "retry_task", *AGENT], "give exactly one of"),
    (["check", "--sql", WRITE, "--param", "a=b", *AGENT], "--param only goes with --action NAME"),
    (["check", "--action", "retry_task", "--param", "job", *AGENT], "--param 'job' is not KEY=VALUE"),
    (["check", "--sql", WRITE, "--confidence", "1.5"], "must be between 0 and 1"),
    (["propose", "--sql", WRITE, "--cost-usd", "-5", *AGENT], "--cost-usd: must be a finite number of US dollars, 0 or more, got -5"),
    (["propose", "--sql", WRITE, "--cost-usd", "nan", *AGENT], "--cost-usd: must be a finite number of US dollars, 0 or more, got nan"),
    (["check", "--sql", WRITE, "--cost-usd", "inf", *AGENT], "0 or more, got inf"),
    (["check", "--sql", WRITE, "--cost-usd", "ten"], "--cost-usd: must be a number of US dollars, got 'ten'"),
    (["check", "--sql", WRITE, "--dialect", "postgress"], "postgres"),
    (["check", "--sql", "   "], "the SQL is empty"),
    (["check", "--sql-file", "/nonexistent/fix.sql"], "no such file: /nonexistent/fix.sql"),
    (["propose", "--action", "scale_compute", "--param", "resource=x", "--param", "replicas=many", *AGENT], "replicas"),
    (["show", "nope"], "no proposal 'nope'"),
    (["approve", "nope", "--by", "alice"], "no proposal 'nope'"),
    (["outcome", "nope", "exploded"], "invalid choice: 'exploded'"),
    (["ladder", "promote", "sql.write", "--by", "mallory"], "mallory cannot promote"),
    (["audit", "rewrite"], "invalid choice: 'rewrite'"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a[:2]) + ": " + m[:30] for a, m in BAD])
def test_bad_input_is_one_line_exit_2_and_loses_nothing(cli: Callable[..., tuple[int, str, str]], args: list[str], message: str) -> None:
    pid = cli("propose", "--sql", WRITE, *AGENT)[1].strip()
    before = as_json(cli("audit", "verify", "--json")[1])["entries"]
    code, out, err = cli(*args)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert as_json(cli("audit", "verify", "--json")[1]) == {"ok": True, "entries": before, "first_bad_seq": None, "problem": None}
    assert [p["proposal_id"] for p in as_json(cli("queue", "--json")[1])["proposals"]] == [pid]


def test_audit_verify_exits_1_naming_the_edited_entry(cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    import duckdb

    pid = cli("propose", "--sql", WRITE, *AGENT)[1].strip()
    cli("approve", pid, "--by", "alice")
    with duckdb.connect(str(tmp_path / "ledger.duckdb")) as raw:
        raw.execute("UPDATE audit SET actor = 'bob' WHERE seq = 3")
    code, out, _ = cli("audit", "verify")
    assert code == 1 and out.startswith("audit chain broken at entry 3:")
    export = tmp_path / "audit.jsonl"
    assert cli("audit", "export", "--output", str(export))[0] == 0
    assert [json.loads(line)["event"] for line in export.read_text().splitlines()] == ["proposal.created", "approval.requested", "approval.vote", "approval.approved"]

"""Standing approvals: a scope approved until a date runs at notify; never what is non-negotiable."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from supervisor.errors import ApprovalError, UsageError
from supervisor.models import Decision
from supervisor.service import Supervisor
from tests.supervisor.conftest import T0, action, sql

ROTATE = {"credential": "ingestion.svc_loader", "system": "snowflake"}


def grant(sup: Supervisor, **fields: object) -> str:
    values = {"action_types": ("pipeline.rotate_credential",), "objects": ("ingestion.*",), "by": "alice", "until": T0 + timedelta(days=30), "reason": "quarterly rotation", "now": T0}
    return sup.grant_standing(**{**values, **fields}).standing_id  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("proposal", "expected", "codes"),
    [
        (action("rotate_credential", ROTATE, target="ingestion.loader"), Decision.NOTIFY, {"level", "standing_approval"}),
        (action("rotate_credential", ROTATE, target="finance.ledger_writer"), Decision.REQUIRE_APPROVAL, {"level"}),  # outside the objects
        (action("rotate_credential", ROTATE, target="ingestion.loader", agent="intern-bot"), Decision.NOTIFY, {"level", "standing_approval"}),
        (action("rotate_credential", ROTATE, target="ingestion.loader", confidence=0.2), Decision.REQUIRE_APPROVAL, {"low_confidence", "level"}),
        (action("retry_task", {"job": "ingest", "task": "load"}, target="ingestion.loader"), Decision.REQUIRE_APPROVAL, {"level"}),  # another type
        (sql("DROP TABLE ingestion.loader"), Decision.REQUIRE_APPROVAL, {"destructive", "non_negotiable", "level"}),
    ],
    ids=["in scope", "other object", "any agent", "low confidence", "other type", "destructive"],
)
def test_a_standing_approval_covers_its_scope_and_nothing_non_negotiable(make_supervisor: Callable[..., Supervisor], proposal: object, expected: Decision, codes: set[str]) -> None:
    sup = make_supervisor()
    grant(sup, action_types=("pipeline.rotate_credential", "sql.drop"))
    decision = sup.check(proposal, now=T0 + timedelta(days=1))  # type: ignore[arg-type]
    assert decision.decision is expected
    assert {r.code for r in decision.reasons} == codes


def test_it_expires_and_revocation_takes_effect_at_execution(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor()
    sid = grant(sup)
    rotate = action("rotate_credential", ROTATE, target="ingestion.loader")
    assert sup.check(rotate, now=T0 + timedelta(days=31)).decision is Decision.REQUIRE_APPROVAL
    recorded = sup.propose(rotate, now=T0 + timedelta(days=1))
    assert recorded.decision.decision is Decision.NOTIFY and recorded.approval is None
    sup.revoke_standing(sid, by="bob", reason="rotation finished early", now=T0 + timedelta(days=2))
    clearance = sup.authorize(recorded.proposal_id, now=T0 + timedelta(days=2, hours=1))
    assert not clearance.may_run and clearance.reasons[0].code == "not_approved"
    assert [a.standing_id for a in sup.standing_approvals(active_at=T0 + timedelta(days=2))] == []
    (listed,) = sup.standing_approvals()
    assert (listed.revoked_by, listed.granted_by) == ("bob", "alice")
    events = [(e.event, e.subject) for e in sup.audit_entries() if e.event.startswith("standing.")]
    assert events == [("standing.granted", sid), ("standing.revoked", sid)]
    assert sup.verify_audit().ok


def test_only_platform_approvers_grant_with_a_reason_a_future_end_and_known_types(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor()
    with pytest.raises(ApprovalError, match="fixer cannot grant standing approvals"):
        grant(sup, by="fixer")
    with pytest.raises(UsageError, match="needs a reason"):
        grant(sup, reason=" ")
    with pytest.raises(UsageError, match="is not in the future"):
        grant(sup, until=T0 - timedelta(days=1))
    with pytest.raises(UsageError, match="'pipeline.rotate_credentials' matches no type"):
        grant(sup, action_types=("pipeline.rotate_credentials",))
    sid = grant(sup)
    with pytest.raises(UsageError, match="no standing approval 'sa-nope'"):
        sup.revoke_standing("sa-nope", by="alice", reason="x", now=T0)
    sup.revoke_standing(sid, by="alice", reason="done", now=T0)
    with pytest.raises(UsageError, match="already revoked by alice"):
        sup.revoke_standing(sid, by="alice", reason="again", now=T0)


def test_the_cli_grants_lists_and_revokes(tmp_path: object, ladder_file: Callable[..., object]) -> None:
    from supervisor.cli import main

    ladder = ladder_file()
    base = ["--ladder", str(ladder), "--ledger", str(tmp_path) + "/ledger.duckdb"]  # type: ignore[operator]

    def run(*args: str) -> tuple[int, str]:
        import io
        from contextlib import redirect_stdout

        buffer = io.StringIO()
        with redirect_stdout(buffer):
            code = main([*base, *args])
        return code, buffer.getvalue()

    code, out = run("standing", "grant", "--action-type", "pipeline.rotate_credential", "--object", "ingestion.*", "--until", "2099-12-31", "--by", "alice", "--reason", "rotation", "--json")
    assert code == 0
    granted = json.loads(out)
    assert granted["expires_at"].startswith("2099-12-31T00:00:00") and granted["objects"] == ["ingestion.*"]
    code, out = run("standing", "list", "--active")
    assert code == 0 and granted["standing_id"] in out and "ingestion.*" in out
    code, out = run("standing", "revoke", granted["standing_id"], "--by", "alice", "--reason", "done")
    assert code == 0 and out.strip() == f"revoked {granted['standing_id']}"
    assert run("standing", "list", "--active") == (0, "no standing approvals\n")

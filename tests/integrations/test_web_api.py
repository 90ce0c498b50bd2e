"""The JSON API over a real server and ledger file: every endpoint, every status code it promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integrations.web_support import Web

pytestmark = pytest.mark.slow

DELETE = "DELETE FROM shop.orders WHERE id = 42"
BODY = {"sql": DELETE, "dialect": "duckdb", "confidence": 0.9, "reason": "a duplicate order", "team": "commerce", "target": "shop.orders", "rollback": "re-insert row 42"}


def test_an_agent_submits_a_proposal_and_gets_the_contract_decision(web: Web) -> None:
    with web.api("fixer") as api:
        response = api.post("/api/proposals", json=BODY)
        assert response.status_code == 201
        body = response.json()
        assert {"proposal_id", "decision", "level", "action_type", "categories", "reasons", "policy_version", "proposal_hash"} <= set(body)
        assert (body["decision"], body["action_type"]) == ("require_approval", "sql.write")
        stored = web.supervisor.lookup(body["proposal_id"])
        assert stored is not None and stored.proposal.agent == "fixer" and stored.proposal.rollback == "re-insert row 42"

        allowed = api.post("/api/proposals", json={"sql": "SELECT 1", "dialect": "duckdb", "confidence": 0.9})
        assert (allowed.status_code, allowed.json()["decision"]) == (201, "allow")


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ("{not json", 400, "not valid JSON"),
        ({"sql": DELETE, "dialect": "duckdb", "confidence": 2}, 422, "confidence: Input should be less than or equal to 1"),
        ({"sql": DELETE}, 422, "needs its dialect"),
        ({"sql": DELETE, "action": "retry_task", "dialect": "duckdb"}, 422, "exactly one of them"),
        ({"sql": DELETE, "dialect": "klingon"}, 422, "klingon"),
        ({"sql": "  ", "dialect": "duckdb"}, 422, "the SQL is empty"),
        ({"sql": DELETE, "dialect": "duckdb", "colour": "red"}, 422, "colour: Extra inputs are not permitted"),
        ({**BODY, "agent": "alice"}, 403, "authenticated as fixer and cannot propose as alice"),
    ],
)
def test_bad_proposals_get_one_line_and_record_nothing(web: Web, payload: object, status: int, message: str) -> None:
    with web.api("fixer") as api:
        if isinstance(payload, str):
            response = api.post("/api/proposals", content=payload, headers={"content-type": "application/json"})
        else:
            response = api.post("/api/proposals", json=payload)
    assert response.status_code == status
    detail = response.json()["detail"]
    assert isinstance(detail, str) and message in detail and "\n" not in detail and "Traceback" not in detail
    assert web.supervisor.queue() == []


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_every_endpoint_needs_a_known_bearer_token(web: Web, token: str | None) -> None:
    pid = web.propose(DELETE)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    import httpx

    with httpx.Client(base_url=web.url, headers=headers) as client:
        for method, path in [("POST", "/api/proposals"), ("GET", f"/api/proposals/{pid}"), ("GET", "/api/queue"), ("POST", f"/api/proposals/{pid}/approve"), ("POST", f"/api/proposals/{pid}/reject"), ("GET", "/api/ladder")]:
            response = client.request(method, path, json=BODY if path == "/api/proposals" else {"reason": "x"})
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"] == "Bearer"
            assert "bearer token" in response.json()["detail"]
    assert [stored.proposal_id for stored, _ in web.supervisor.queue()] == [pid]


def test_packet_queue_and_ladder_read_back_in_the_contract_shapes(web: Web) -> None:
    pid = web.propose(DELETE, reason="a duplicate order", rollback="re-insert row 42", target="shop.orders")
    with web.api("alice") as api:
        packet = api.get(f"/api/proposals/{pid}")
        assert packet.status_code == 200
        assert packet.json()["proposal_id"] == pid and packet.json()["why"] == "a duplicate order"
        assert "DELETE FROM shop.orders" in packet.json()["what"]["pretty_sql"]
        missing = api.get("/api/proposals/nope")
        assert (missing.status_code, missing.json()["detail"]) == (404, "no proposal 'nope'; GET /api/queue lists pending ones")

        queue = api.get("/api/queue")
        assert queue.status_code == 200
        (row,) = queue.json()["proposals"]
        assert {"proposal_id", "action_type", "agent", "level", "reasons", "created_at", "expires_at"} <= set(row) and row["proposal_id"] == pid

        ladder = api.get("/api/ladder")
        assert ladder.status_code == 200
        first = ladder.json()["action_types"][0]
        assert {"action_type", "level", "ceiling", "initial", "successes", "failures", "incidents", "promotion_due"} <= set(first)


def test_approve_and_reject_map_every_refusal_to_its_status(web: Web) -> None:
    pid = web.propose(DELETE)
    with web.api("mallory") as mallory, web.api("alice") as alice, web.api("fixer") as fixer:
        refused = mallory.post(f"/api/proposals/{pid}/approve")
        assert refused.status_code == 403 and "mallory is not an approver" in refused.json()["detail"]
        assert fixer.post(f"/api/proposals/{pid}/approve").status_code == 403
        assert alice.post("/api/proposals/nope/approve").status_code == 404

        no_reason = alice.post(f"/api/proposals/{pid}/reject", json={})
        assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
        empty = alice.post(f"/api/proposals/{pid}/reject", json={"reason": ""})
        assert empty.status_code == 422

        approved = alice.post(f"/api/proposals/{pid}/approve", json={"reason": "checked the duplicate"})
        assert approved.status_code == 200 and approved.json()["state"] == "approved"
        again = alice.post(f"/api/proposals/{pid}/reject", json={"reason": "changed my mind"})
        assert again.status_code == 409 and "already approved by alice" in again.json()["detail"]

        other = web.propose(DELETE)
        rejected = alice.post(f"/api/proposals/{other}/reject", json={"reason": "the order is real"})
        assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"

        read = fixer.post("/api/proposals", json={"sql": "SELECT 1", "dialect": "duckdb", "confidence": 0.9}).json()["proposal_id"]
        nothing = alice.post(f"/api/proposals/{read}/approve")
        assert nothing.status_code == 409 and "nothing to approve" in nothing.json()["detail"]


def test_the_proposer_never_approves_its_own_even_when_it_is_an_approver(web: Web) -> None:
    with web.api("alice") as alice:
        pid = alice.post("/api/proposals", json=BODY).json()["proposal_id"]
        refused = alice.post(f"/api/proposals/{pid}/approve")
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith(f"alice proposed {pid} and cannot approve or reject it")
    assert web.supervisor.queue()[0][1].state.value == "pending"


def test_a_timed_out_request_is_a_conflict(web: Web) -> None:
    pid = web.propose(DELETE, now=datetime.now(UTC) - timedelta(hours=2))
    with web.api("alice") as alice:
        response = alice.post(f"/api/proposals/{pid}/approve")
    assert response.status_code == 409 and "timed out" in response.json()["detail"]


def test_openapi_describes_the_api(web: Web) -> None:
    import httpx

    spec = httpx.get(f"{web.url}/openapi.json").json()
    assert {"/api/proposals", "/api/proposals/{proposal_id}", "/api/queue", "/api/proposals/{proposal_id}/approve", "/api/proposals/{proposal_id}/reject", "/api/ladder"} <= set(spec["paths"])
    assert "201" in spec["paths"]["/api/proposals"]["post"]["responses"]
    assert set(spec["paths"]["/api/proposals/{proposal_id}/approve"]["post"]["responses"]) >= {"200", "401", "403", "404", "409"}
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert not any(path.startswith(("/queue", "/login")) for path in spec["paths"])

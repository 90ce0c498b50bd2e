"""The web inbox in headless Chromium: log in, read a packet, decide, and be refused when one should be."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integrations.web_support import Web

pytestmark = pytest.mark.slow

DELETE = "DELETE FROM shop.orders WHERE id = 42"


@pytest.fixture
def page_as(browser: Any, web: Web) -> Iterator[Any]:
    """Log someone in through the form in a fresh browser context; returns their page."""
    contexts: list[Any] = []

    def login(who: str) -> Any:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{web.url}/queue")
        assert page.url.startswith(f"{web.url}/login")
        page.fill("input[name=name]", who)
        page.fill("input[name=password]", f"{who}-pw")
        page.click("button[type=submit]")
        page.wait_for_url(f"{web.url}/queue")
        assert page.text_content("[data-testid=user]") == who
        return page

    yield login
    for context in contexts:
        context.close()


def test_an_approver_reads_the_packet_approves_and_finds_it_in_the_audit_trail(web: Web, page_as: Any) -> None:
    pid = web.propose(DELETE, reason="a duplicate order from the retry storm", rollback="re-insert row 42 from the raw feed", target="shop.orders")
    page = page_as("alice")
    assert page.locator(f"tr[data-proposal='{pid}']").count() == 1
    assert "min" in page.locator(f"tr[data-proposal='{pid}']").text_content()

    page.click(f"a[href='/proposals/{pid}']")
    assert "DELETE FROM shop.orders" in page.text_content("[data-testid=sql]")
    assert page.text_content("[data-testid=why]") == "a duplicate order from the retry storm"
    assert "90%" in page.content() and "re-insert row 42" in page.text_content("[data-testid=rollback]")
    assert "human approves first" in page.text_content("[data-testid=reasons]")

    page.fill("form[action$='/approve'] textarea[name=reason]", "checked: it is the duplicate")
    page.click("button[name=approve]")
    page.wait_for_url(f"{web.url}/queue")
    assert f"{pid} approved" in page.text_content("[role=status]")
    assert page.locator(f"tr[data-proposal='{pid}']").count() == 0

    page.click("a[href='/audit']")
    audit = page.text_content("[data-testid=audit]")
    assert "approval.approved" in audit and pid in audit
    assert "Chain verified" in page.text_content("[data-testid=verify]")


def test_a_non_approver_is_refused_with_a_clear_message_and_keeps_what_they_typed(web: Web, page_as: Any) -> None:
    pid = web.propose(DELETE)
    page = page_as("mallory")
    page.goto(f"{web.url}/proposals/{pid}")
    assert "not an approver of group data-platform" in page.text_content(".hint")
    page.fill("form[action$='/approve'] textarea[name=reason]", "looks fine to me")
    page.click("button[name=approve]")
    error = page.text_content("[data-testid=error]")
    assert "mallory is not an approver" in error and "alice, bob" in error
    assert page.input_value("form[action$='/approve'] textarea[name=reason]") == "looks fine to me"
    assert web.supervisor.queue()[0][1].votes == ()


def test_the_proposer_is_refused(web: Web, page_as: Any) -> None:
    pid = web.propose(DELETE, agent="fixer")
    page = page_as("fixer")
    page.goto(f"{web.url}/proposals/{pid}")
    page.click("button[name=approve]")
    assert f"fixer proposed {pid} and cannot approve or reject it" in page.text_content("[data-testid=error]")
    assert web.supervisor.queue()[0][1].state.value == "pending"


def test_a_rejection_needs_a_reason(web: Web, page_as: Any) -> None:
    pid = web.propose(DELETE)
    page = page_as("bob")
    page.goto(f"{web.url}/proposals/{pid}")
    # the browser holds an empty required field back; the server refuses it too
    page.eval_on_selector("form[action$='/reject'] textarea", "el => el.removeAttribute('required')")
    page.click("button[name=reject]")
    assert "a rejection needs a reason" in page.text_content("[data-testid=error]")
    page.fill("form[action$='/reject'] textarea[name=reason]", "order 42 is a real order")
    page.click("button[name=reject]")
    page.wait_for_url(f"{web.url}/queue")
    assert f"{pid} rejected" in page.text_content("[role=status]")


def test_batch_approval_approves_each_similar_proposal_on_its_own(web: Web, page_as: Any) -> None:
    ids = [web.propose(f"DELETE FROM shop.orders_2026_0{n} WHERE id = {n}", target=f"shop.orders_2026_0{n}") for n in (1, 2, 3)]
    own = web.propose("DELETE FROM shop.orders_2026_04 WHERE id = 4", agent="alice", target="shop.orders_2026_04")
    other = web.propose("UPDATE shop.customers SET tier = 'gold' WHERE id = 7", target="shop.customers")
    page = page_as("alice")
    page.click(f"tr[data-proposal='{ids[0]}'] a[href$='/similar']")
    listed = page.text_content("[data-testid=similar]")
    assert all(pid in listed for pid in [*ids, own]) and other not in listed
    page.fill("textarea[name=reason]", "the retry storm duplicates")
    page.click("text=Approve ticked")
    results = page.text_content("[data-testid=results]")
    assert results.count("approved") == 3
    assert f"alice proposed {own} and cannot approve" in results
    states = {pid: web.supervisor.get(pid)[1].state.value for pid in [*ids, own, other]}
    assert states == {**dict.fromkeys(ids, "approved"), own: "pending", other: "pending"}
    assert {vote.voter for pid in ids for vote in web.supervisor.get(pid)[1].votes} == {"alice"}


def test_a_post_without_the_csrf_token_is_refused(web: Web, page_as: Any) -> None:
    pid = web.propose(DELETE)
    page = page_as("alice")
    page.goto(f"{web.url}/queue")
    status, text = page.evaluate(
        """async (pid) => {
            const r = await fetch(`/proposals/${pid}/approve`, {method: 'POST', body: new URLSearchParams({reason: 'sneaky'})});
            return [r.status, await r.text()];
        }""",
        pid,
    )
    assert status == 403 and "CSRF token is missing or stale" in text
    assert web.supervisor.queue()[0][1].votes == ()


def test_the_ladder_and_standing_pages_render(web: Web, page_as: Any) -> None:
    page = page_as("alice")
    page.click("a[href='/ladder']")
    assert page.locator("[data-testid=ladder] svg.chart").count() >= 1
    assert "sql.drop" in page.text_content("[data-testid=ladder]")
    page.click("a[href='/standing']")
    page.fill("input[name=action_types]", "pipeline.retry_task")
    page.fill("input[name=until]", "2099-12-31")
    page.fill("textarea[name=reason]", "retries are safe this quarter")
    with page.expect_navigation():
        page.click("button:has-text('Grant')")
    assert "granted sa-" in page.text_content("[role=status]")
    page.fill("[data-testid=standing] input[name=reason]", "quarter over")
    with page.expect_navigation():
        page.click("[data-testid=standing] button")
    assert "revoked sa-" in page.text_content("[role=status]")
    assert "revoked by alice" in page.text_content("[data-testid=standing]")

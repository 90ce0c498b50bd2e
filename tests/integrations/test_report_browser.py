"""``trustladder report --html`` opened in headless Chromium: the charts render, nothing is fetched, nothing runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from supervisor.cli import main
from supervisor.report import Report
from supervisor.service import Supervisor
from tests.supervisor.report_ledgers import SCRIPT, enforce_history, observe_history

pytestmark = pytest.mark.slow



@pytest.fixture
def written(make_supervisor: Callable[..., Supervisor], ladder_file: Callable[..., Path], tmp_path: Path) -> tuple[Path, Report]:
    """An enforce-mode history, then observe mode, on one ledger; the report written as HTML by the command line.

    The history ends before now: the command line reads the clock.
    """
    enforced = enforce_history(make_supervisor, start=datetime.now(UTC) - timedelta(days=30))
    observed = observe_history(make_supervisor, ladder_file, tmp_path / "ledger.duckdb", start=enforced.end)
    report = observed.supervisor.report(now=observed.end)
    target = tmp_path / "report.html"
    assert main(["--ladder", str(tmp_path / "observe.yaml"), "--ledger", str(tmp_path / "ledger.duckdb"), "report", "--html", str(target), "--since", "2000-01-01"]) == 0
    return target, report


def test_the_report_page_renders_its_charts_without_errors_or_requests(browser: Any, written: tuple[Path, Report]) -> None:
    target, report = written
    page = browser.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}") if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(target.as_uri())
    page.wait_for_load_state("load")

    assert page.title().startswith("trustladder report: since 2000-01-01 00:00 UTC")
    assert problems == [] and requests == [target.as_uri()]
    assert page.evaluate("typeof window.__pwned") == "undefined"

    types = [t.action_type for t in report.action_types]
    assert types == ["pipeline.retry_task", "pipeline.scale_compute", "sql.drop", "sql.write"]
    charts = page.locator("svg.chart")
    # per week: share and outcomes; approval rates; agreement; per type: level and outcomes
    assert charts.count() == 2 + 1 + 1 + 2 * len(types)
    for index in range(charts.count()):
        chart = charts.nth(index)
        box = chart.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 40
        assert chart.get_attribute("role") == "img"
        title_id, desc_id = chart.get_attribute("aria-labelledby").split()
        assert page.locator(f"#{title_id}").text_content() and page.locator(f"#{desc_id}").text_content()

    assert page.locator("#chart-outcomes g.series").count() == 4
    assert [page.locator("#chart-outcomes g.series").nth(i).get_attribute("data-series") for i in range(4)] == ["success", "failure", "incident", "rolled_back"]
    assert page.locator("#chart-outcomes rect").count() > 0
    assert page.locator("#chart-agreement g.series").count() == 3
    assert page.locator("#chart-agreement rect").count() == 4  # retry: agreed + ran-rejected; write: agreed + gated-approved
    assert page.locator("#chart-approval rect").count() == 3  # sql.drop was never approved: no bar
    assert page.locator("#chart-approval line.threshold").count() == 1

    level = page.locator("#level-sql-write")
    assert level.locator("title").first.text_content() == "sql.write: level over time"
    assert level.locator("g.series").count() == 1 and level.locator("circle").count() == 2  # the promotion and the demotion
    path = level.locator("path").get_attribute("d")
    assert path.count("V") == 2  # a step up and a step down
    assert page.locator("#outcomes-sql-write g.series").count() == 4

    # The figures beside the charts, and the untrusted text shown as text.
    reasons = page.locator("[data-testid=reasons]").text_content()
    assert f"not now {SCRIPT}" in reasons and "never drop orders" in reasons
    assert f"task stuck {SCRIPT}" in page.locator("[data-testid=disagreements]").text_content()
    assert page.locator("[data-testid=flag]").count() == 1 and "would have run 1 proposal(s) a human rejected" in page.locator("[data-testid=flag]").text_content()
    assert "sql.write" in page.locator("[data-testid=demotions]").text_content()
    assert page.locator("script").count() == 0
    page.close()


def test_an_empty_report_page_says_so(browser: Any, make_supervisor: Callable[..., Supervisor], tmp_path: Path) -> None:
    make_supervisor()
    target = tmp_path / "empty.html"
    assert main(["--ladder", str(tmp_path / "trust_ladder.yaml"), "--ledger", str(tmp_path / "ledger.duckdb"), "report", "--html", str(target)]) == 0
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(target.as_uri())
    assert "nothing to report yet" in page.locator("[data-testid=empty]").text_content()
    assert page.locator("svg").count() == 0 and errors == []
    page.close()

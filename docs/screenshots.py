"""Take the README's screenshots of the web inbox: a demo ledger, a real server, headless Chromium.

Run from the repository root: ``python docs/screenshots.py`` (needs the test extra and chromium).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.integrations.web_support import web_server

DOCS = Path(__file__).resolve().parent


def _seed(web: object) -> str:
    now = datetime.now(UTC)
    propose = web.propose  # type: ignore[attr-defined]
    packet = propose(
        "DELETE FROM shop.orders WHERE status = 'duplicate' AND created_at >= DATE '2026-03-01'",
        reason="the payment retry storm on 1 March inserted each order twice; the copies carry status 'duplicate'",
        rollback="re-insert the deleted rows from raw.orders_feed for 1-2 March",
        target="shop.orders",
        confidence=0.86,
        now=now - timedelta(minutes=4),
    )
    propose("DROP TABLE staging.orders_backup_2026_02", reason="a February backup nobody reads", target="staging.orders_backup_2026_02", now=now - timedelta(minutes=20))
    for n, minutes in ((1, 9), (2, 12), (3, 15)):
        propose(f"UPDATE shop.orders_2026_0{n} SET status = 'paid' WHERE status = 'stuck'", reason="orders stuck since the payment outage", target=f"shop.orders_2026_0{n}", now=now - timedelta(minutes=minutes))
    propose("INSERT INTO mart.daily_revenue SELECT * FROM staging.daily_revenue WHERE day >= DATE '2026-01-01'", reason="rebuild revenue after the currency fix", confidence=0.62, now=now - timedelta(minutes=2))
    return str(packet)


def main() -> None:
    """Write docs/web-queue.png and docs/web-packet.png."""
    with tempfile.TemporaryDirectory() as tmp, web_server(Path(tmp)) as web, sync_playwright() as playwright:
        packet = _seed(web)
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(f"{web.url}/login")
        page.fill("input[name=name]", "alice")
        page.fill("input[name=password]", "alice-pw")
        page.click("button[type=submit]")
        page.wait_for_url(f"{web.url}/queue")
        page.goto(f"{web.url}/queue")
        page.screenshot(path=str(DOCS / "web-queue.png"), full_page=True)
        page.goto(f"{web.url}/proposals/{packet}")
        page.screenshot(path=str(DOCS / "web-packet.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main()

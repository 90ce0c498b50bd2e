"""The classifier over real SQL other projects wrote: ../shared/corpus/external.jsonl.

Every risky label must be found; entries sqlglot cannot parse, or whose effect is opaque, must
come back risky; and safe entries (labelled only read/write) must almost never be flagged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from classifiers import classify_sql
from supervisor.models import Category

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("TRUSTLADDER_CORPUS", ROOT.parent / "shared" / "corpus"))
EXTERNAL = CORPUS / "external.jsonl"
RISKY = {category.value for category in Category if category.is_risky}

# Safe-labelled entries we flag on purpose: the contract calls a write whose time filter is
# open-ended a costly backfill, and the corpus does not label open-ended copies.
CONTRACT_BACKFILLS = {
    "sq-postgres-023",  # SELECT * INTO films_recent FROM films WHERE date_prod >= '2002-01-01'
    "sf-snowflake-010",  # INSERT INTO films SELECT * FROM tmp_films WHERE date_prod < '2004-05-07'
}

pytestmark = pytest.mark.skipif(
    not EXTERNAL.is_file(),
    reason=f"the shared corpus is not at {CORPUS} (set TRUSTLADDER_CORPUS to its folder to run these)",
)


def _entries() -> list[dict[str, Any]]:
    if not EXTERNAL.is_file():
        return []
    return [json.loads(line) for line in EXTERNAL.read_text().splitlines() if line.strip()]


ENTRIES = _entries()


def _reported(entry: dict[str, Any]) -> set[str]:
    return {category.value for category in classify_sql(entry["sql"], dialect=entry["dialect"]).categories}


@pytest.mark.parametrize("entry", [e for e in ENTRIES if set(e["expect_contract"]) & RISKY], ids=lambda e: e["id"])
def test_every_risky_label_is_found(entry: dict[str, Any]) -> None:
    expected = set(entry["expect_contract"]) & RISKY
    assert expected <= _reported(entry), entry["sql"]


@pytest.mark.parametrize(
    "entry",
    [e for e in ENTRIES if not e["parses"] or "opaque" in e["expect_contract"]],
    ids=lambda e: e["id"],
)
def test_what_sqlglot_cannot_read_fails_closed(entry: dict[str, Any]) -> None:
    assert _reported(entry) & RISKY, entry["sql"]


def test_safe_entries_are_rarely_flagged() -> None:
    safe = [e for e in ENTRIES if e["expect_contract"] and set(e["expect_contract"]) <= {"read", "write"}]
    flagged = {e["id"]: sorted(_reported(e) & RISKY) for e in safe if _reported(e) & RISKY}
    assert len(safe) > 100
    assert set(flagged) <= CONTRACT_BACKFILLS, flagged
    assert all(categories == ["costly_backfill"] for categories in flagged.values())
    clean_share = (len(safe) - len(flagged)) / len(safe)
    assert clean_share >= 0.97


def test_no_statement_hits_an_unexpected_tree_shape() -> None:
    odd = [
        (e["id"], finding.message)
        for e in ENTRIES
        for statement in classify_sql(e["sql"], dialect=e["dialect"]).statements
        for finding in statement.findings
        if "shape the classifier does not know" in finding.message
    ]
    assert odd == []

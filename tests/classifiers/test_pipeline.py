"""Golden-table tests of assess_action, with params as the CLI passes them, plus the edges no row can express."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from classifiers import action_names, assess_action
from classifiers.pipeline import CATALOG
from supervisor.errors import ClassificationError
from supervisor.models import Assessment

from .fixtures import FIXTURES

CATALOG_NAMES = (
    "adjust_timeout",
    "change_source_config",
    "clear_stuck_task",
    "dequeue_dlq",
    "materialize_cte",
    "modify_schedule",
    "pipeline_logic_change",
    "pre_rotate_credential",
    "retry_task",
    "rotate_credential",
    "scale_compute",
    "schema_migration",
    "trigger_backfill",
    "update_schema_mapping",
)
EXPECT_KEYS = {"objects", "notes", "max_level", "destructive", "unknown", "span_hours", "summary"}


@dataclass(frozen=True)
class Row:
    """One fixture row: assess ``action`` with CLI-style ``params``; ``expect`` or ``error`` says what must come back."""

    title: str
    action: str
    params: dict[str, str]
    target: str | None = None
    backfill_max_hours: float = 24.0
    expect: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def assess(self) -> Assessment:
        return assess_action(
            self.action, self.params, target=self.target, backfill_max_hours=self.backfill_max_hours
        )


def _cli_params(pairs: list[str]) -> dict[str, str]:
    """Split ``KEY=VALUE`` at the first ``=``, as ``--param`` does: every value stays a string."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        assert sep, f"fixture param {pair!r} is not KEY=VALUE"
        params[key] = value
    return params


def _load(section: str) -> list[Row]:
    document = yaml.safe_load((FIXTURES / "pipeline_actions.yaml").read_text(encoding="utf-8"))
    rows = [Row(**{**raw, "params": _cli_params(raw["params"])}) for raw in document[section]]
    titles = [row.title for row in rows]
    assert len(set(titles)) == len(titles), "fixture titles are the test ids; make them unique"
    return rows


CASES = _load("cases")
INVALID = _load("invalid")


# ---------------------------------------------------------------- golden tables


@pytest.mark.parametrize("row", CASES, ids=[row.title for row in CASES])
def test_pipeline_action(row: Row) -> None:
    assert set(row.expect) <= EXPECT_KEYS, f"unknown expect keys {set(row.expect) - EXPECT_KEYS}"
    result = row.assess()

    assert result.action_type == f"pipeline.{row.action}"
    assert result.writes is True
    assert result.categories == ()
    assert result.objects == tuple(row.expect["objects"])
    assert [note.code for note in result.notes] == row.expect.get("notes", [])
    assert result.max_level == row.expect.get("max_level")
    assert result.destructive is row.expect.get("destructive", False)
    assert result.unknown is row.expect.get("unknown", False)
    assert result.span_hours == row.expect.get("span_hours")
    if "summary" in row.expect:
        assert result.summary == row.expect["summary"]
    assert result.summary.strip() and "\n" not in result.summary
    assert all(note.message.strip() for note in result.notes)


@pytest.mark.parametrize("row", INVALID, ids=[row.title for row in INVALID])
def test_pipeline_action_invalid(row: Row) -> None:
    assert row.error, "an invalid row needs an error"
    with pytest.raises(ClassificationError, match=re.escape(row.error)) as raised:
        row.assess()

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{row.action}: ")


def test_every_catalog_action_has_a_golden_row() -> None:
    covered = {row.action for row in CASES}

    assert set(action_names()) - covered == set()


# ---------------------------------------------------------------- the catalog


def test_action_names_are_the_catalog_sorted() -> None:
    assert action_names() == CATALOG_NAMES
    assert set(CATALOG) == set(CATALOG_NAMES)


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_every_param_is_described_and_extras_are_forbidden(name: str) -> None:
    model = CATALOG[name]

    assert model.model_config.get("extra") == "forbid"
    assert model.model_fields, f"{name} takes no params"
    for param, info in model.model_fields.items():
        assert info.description, f"{name}.{param} has no description"


# ---------------------------------------------------------------- coercion


@pytest.mark.parametrize(
    ("action", "as_strings", "as_values"),
    [
        (
            "scale_compute",
            {"resource": "etl_workers", "replicas": "0", "from_replicas": "3"},
            {"resource": "etl_workers", "replicas": 0, "from_replicas": 3},
        ),
        (
            "modify_schedule",
            {"job": "daily_etl", "enabled": "false"},
            {"job": "daily_etl", "enabled": False},
        ),
        (
            "update_schema_mapping",
            {"source": "crm", "mapping": '{"cust_id": "customer_id"}'},
            {"source": "crm", "mapping": {"cust_id": "customer_id"}},
        ),
        (
            "trigger_backfill",
            {"asset": "orders", "partitions": '["2024-01-01", "2024-01-02"]'},
            {"asset": "orders", "partitions": ["2024-01-01", "2024-01-02"]},
        ),
        (
            "adjust_timeout",
            {"job": "daily_etl", "timeout_seconds": "600"},
            {"job": "daily_etl", "timeout_seconds": 600},
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_cli_strings_and_typed_values_assess_the_same(
    action: str, as_strings: dict[str, str], as_values: dict[str, Any]
) -> None:
    assert assess_action(action, as_strings) == assess_action(action, as_values)


@pytest.mark.parametrize("text", ["true", "True", "1", "yes", "on"])
def test_truthy_strings_resume_a_schedule(text: str) -> None:
    result = assess_action("modify_schedule", {"job": "daily_etl", "enabled": text})

    assert result.notes == ()
    assert result.summary == "resume the schedule of job daily_etl"


@pytest.mark.parametrize("text", ["false", "False", "0", "no", "off"])
def test_falsy_strings_pause_a_schedule(text: str) -> None:
    result = assess_action("modify_schedule", {"job": "daily_etl", "enabled": text})

    assert [note.code for note in result.notes] == ["stop"]
    assert result.max_level == 1
    assert result.destructive is False


# ---------------------------------------------------------------- backfill limits


@pytest.mark.parametrize(
    ("end", "limit", "capped"),
    [
        ("2024-01-01", 24.0, False),  # one daily partition: exactly the limit is not over it
        ("2024-01-02", 24.0, True),
        ("2024-01-07", 168.0, False),
        ("2024-01-08", 168.0, True),
    ],
)
def test_backfill_cap_follows_the_ladder_limit(end: str, limit: float, capped: bool) -> None:
    result = assess_action(
        "trigger_backfill", {"asset": "orders", "start": "2024-01-01", "end": end}, backfill_max_hours=limit
    )

    assert (result.max_level == 1) is capped
    assert ([note.code for note in result.notes] == ["long_backfill"]) is capped


def test_long_backfill_note_gives_the_span() -> None:
    result = assess_action("trigger_backfill", {"asset": "orders", "start": "2024-01-01", "end": "2024-01-31"})

    assert "744h" in result.notes[0].message
    assert "24h" in result.notes[0].message


def test_open_ended_backfill_says_so() -> None:
    result = assess_action("trigger_backfill", {"job": "orders_job", "end": "2024-01-31"})

    assert result.span_hours is None
    assert "open-ended" in result.notes[0].message


# ---------------------------------------------------------------- unknown actions and names


def test_unknown_action_fails_closed_and_suggests_the_near_name() -> None:
    result = assess_action("retry_tsk", {"job": "daily_etl", "task": "load_orders", "attempts": 3})

    assert result.unknown is True
    assert result.max_level == 1
    assert result.objects == ("daily_etl", "load_orders")
    assert result.notes[0].code == "unknown_action"
    assert "did you mean retry_task?" in result.notes[0].message


def test_unknown_action_keeps_json_params_as_given() -> None:
    params = {"asset": "orders", "limits": {"rows": 10, "tags": ["a", 1.5, True]}, "dry_run": False}

    result = assess_action("compact_asset", params)

    assert result.unknown is True
    assert result.objects == ("orders",)


@pytest.mark.parametrize("value", [None, object(), b"bytes", {"nested": None}])
def test_unknown_action_rejects_params_that_are_not_json_values(value: object) -> None:
    with pytest.raises(ClassificationError, match=r"^compact_asset: param 'options' has a value of type \w+"):
        assess_action("compact_asset", {"options": value})


@pytest.mark.parametrize("name", ["", "Retry_task", "retry-task", "retry task", "1retry", "_retry", "retry_task\n"])
def test_malformed_action_names_are_errors(name: str) -> None:
    with pytest.raises(ClassificationError, match=r"^pipeline action name .* is not valid; use lower-case letters"):
        assess_action(name, {})


# ---------------------------------------------------------------- target and round trip


def test_target_param_comes_from_the_proposal_unless_given() -> None:
    given = assess_action("schema_migration", {"target": "shop.orders"}, target="shop.customers")
    taken = assess_action("schema_migration", {}, target="shop.orders")

    assert given.objects == ("shop.orders", "shop.customers")
    assert taken.objects == ("shop.orders",)
    assert taken.summary == "migrate the schema of shop.orders"


def test_assessment_round_trips_through_json() -> None:
    result = assess_action("dequeue_dlq", {"queue": "orders_dlq", "disposition": "discard", "count": "5"})

    assert Assessment.model_validate_json(result.model_dump_json()) == result

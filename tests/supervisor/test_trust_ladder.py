"""trust_ladder.yaml: the shipped defaults, and errors that name the file, the key path and the fix."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from supervisor.cli import main
from supervisor.errors import PolicyConfigError
from supervisor.trust_ladder import load_ladder, parse_ladder, wilson_upper
from tests.supervisor.conftest import LADDER

SHIPPED_CEILINGS = {
    "sql.read": (4, False),
    "sql.write": (3, False),
    "sql.schema_change": (1, False),
    "sql.costly_backfill": (1, False),
    "sql.overwrite": (1, False),
    "sql.access_change": (1, False),
    "sql.drop": (1, True),
    "sql.truncate": (1, True),
    "sql.unscoped_delete": (1, True),
    "sql.unscoped_update": (1, True),
    "sql.opaque": (1, True),
    "sql.parse_error": (1, True),
    "pipeline.retry_task": (2, False),
    "pipeline.rotate_credential": (2, False),
    "pipeline.clear_stuck_task": (2, False),
    "pipeline.scale_compute": (3, False),
    "pipeline.adjust_timeout": (3, False),
    "pipeline.dequeue_dlq": (3, False),
    "pipeline.pre_rotate_credential": (4, False),
    "pipeline.materialize_cte": (4, False),
    "pipeline.trigger_backfill": (2, False),
    "pipeline.modify_schedule": (2, False),
    "pipeline.update_schema_mapping": (2, False),
    "pipeline.change_source_config": (2, False),
    "pipeline.schema_migration": (1, False),
    "pipeline.pipeline_logic_change": (1, False),
}


def test_shipped_ladder_has_the_documented_defaults() -> None:
    ladder = load_ladder(LADDER)
    found = {name: (policy.ceiling, policy.non_negotiable) for name, policy in ladder.action_types.items()}
    assert found == SHIPPED_CEILINGS
    initial = {name: policy.initial for name, policy in ladder.action_types.items()}
    assert initial == {name: 4 if name == "sql.read" else 1 for name in SHIPPED_CEILINGS}
    assert ladder.policy_version == hashlib.sha256(LADDER.read_bytes()).hexdigest()
    assert ladder.policy_for("pipeline.never_heard_of").model_dump(include={"initial", "ceiling"}) == {"initial": 1, "ceiling": 1}


def test_every_catalog_action_is_on_the_ladder() -> None:
    from classifiers import action_names

    assert {f"pipeline.{name}" for name in action_names()} <= set(load_ladder(LADDER).action_types)


def test_policy_version_changes_with_any_byte() -> None:
    data = LADDER.read_bytes()
    assert parse_ladder(data).policy_version != parse_ladder(data + b"\n# a comment\n").policy_version


BAD = [
    ("version: 1\nactiontypes: {}\n", r"actiontypes: unknown key; remove it or fix its spelling \(known keys here: action_types,"),
    ("version: 1\naction_types: {sql.write: {initial: 1, ceiling: 7}}\n", r"action_types\.sql\.write\.ceiling: .*less than or equal to 4 \(got 7\)"),
    ("version: 1\naction_types: {sql.write: {initial: 3, ceiling: 2}}\n", r"action_types\.sql\.write: initial 3 is above ceiling 2; lower initial or raise ceiling"),
    ("version: 1\naction_types: {sql.dorp: {}}\n", r"'sql\.dorp' is not a SQL action type; use one of sql\.access_change"),
    ("version: 1\naction_types: {sql.write: {initail: 2}}\n", r"action_types\.sql\.write\.initail: unknown key;.*known keys here: approvals_required, ceiling"),
    ("version: 2\n", r"version: .*\(got 2\)"),
    ("mode: enforce\n", r"version: required key is missing; add it"),
    ("version: 1\nmode: yolo\n", r"mode: .*'enforce' or 'observe' \(got 'yolo'\)"),
    ("version: 1\npromotion: {min_outcomes: many}\n", r"promotion\.min_outcomes: .*integer.*\(got 'many'\)"),
    ("version: 1\napprovals: {routes: {'*': ops}}\n", r"routes\['\*'\] names group 'ops', which is not under approvers; add it there"),
    ("version: 1\nfreezes: [{start: 2026-01-02, end: 2026-01-01}]\n", r"freezes\.0: end must be after start"),
    ("version: 1\n  x: [\n", r"line 2, column 4: invalid YAML"),
    ("- just\n- a list\n", r"expected a mapping at the top level"),
    ("version: 1\npolicy_version: abc\n", r"policy_version: is computed by trustladder; remove the key"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[message[:40] for _, message in BAD])
def test_invalid_ladders_name_the_key_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "ladder.yaml"
    path.write_text(text)
    with pytest.raises(PolicyConfigError, match=message) as caught:
        load_ladder(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)


def test_cli_reports_a_bad_ladder_on_one_line_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ladder.yaml"
    path.write_text("version: 1\naction_types: {sql.write: {ceiling: five}}\n")
    code = main(["--ladder", str(path), "--ledger", str(tmp_path / "l.duckdb"), "check", "--sql", "SELECT 1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "action_types.sql.write.ceiling" in err and "Traceback" not in err
    assert not (tmp_path / "l.duckdb").exists()


def test_missing_ladder_says_how_to_point_at_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--ladder", str(tmp_path / "nope.yaml"), "--ledger", str(tmp_path / "l.duckdb"), "queue"])
    assert code == 2
    assert "pass --ladder PATH" in capsys.readouterr().err


@pytest.mark.parametrize(("errors", "total", "bound"), [(0, 52, 0.0495), (0, 50, 0.0513), (1, 100, 0.0436), (5, 20, 0.4322), (0, 0, 1.0)])
def test_wilson_upper_bound(errors: int, total: int, bound: float) -> None:
    assert wilson_upper(errors, total, 0.95) == pytest.approx(bound, abs=5e-4)

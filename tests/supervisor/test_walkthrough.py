"""The README's walk-through, run as written by bash in a fresh directory, then the ledger it leaves."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from supervisor.service import Supervisor
from supervisor.trust_ladder import load_ladder

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- walkthrough -->\n```bash\n(.*?)```", readme, re.DOTALL)
    assert found, "README.md lost its walk-through block"
    return found.group(1)


def test_readme_walkthrough_promotes_then_demotes(tmp_path: Path) -> None:
    (tmp_path / "supervisor" / "examples").mkdir(parents=True)
    shutil.copy(ROOT / "supervisor" / "examples" / "walkthrough.yaml", tmp_path / "supervisor" / "examples")
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("TRUSTLADDER_LADDER", None)
    env.pop("TRUSTLADDER_LEDGER", None)
    done = subprocess.run(["bash", "-c", walkthrough()], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert "fixer proposed" in done.stderr and "cannot approve" in done.stderr

    sup = Supervisor(ladder=load_ladder(tmp_path / "supervisor/examples/walkthrough.yaml"), ledger=tmp_path / ".trustladder/walkthrough.duckdb")
    with sup.store.transaction() as db:
        from supervisor import ledger

        history = [(row["from_level"], row["to_level"], row["reason"], row["actor"]) for row in ledger.level_history(db, "sql.write")]
    assert history == [(1, 2, "promotion", "bob"), (2, 1, "incident", None)]
    ladder_json = json.loads(done.stdout[done.stdout.index('{\n  "action_types"') :].split("\n}\n")[0] + "\n}")
    write = next(row for row in ladder_json["action_types"] if row["action_type"] == "sql.write")
    assert (write["level"], write["successes"], write["incidents"]) == (1, 5, 1)
    assert sup.verify_audit().ok
    exported = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(exported) == sup.verify_audit().entries
    assert [json.loads(line)["seq"] for line in exported] == list(range(1, len(exported) + 1))
    assert "notify: sql.write at level 2" in done.stdout
    assert "require_approval: sql.drop at level 1" in done.stdout
    assert "audit chain ok" in done.stdout

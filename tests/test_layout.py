"""The shape users were promised: import direction and the public surface of each package."""

from __future__ import annotations

import ast
from pathlib import Path

import classifiers

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_CORE = {"dagster", "dagster_duckdb", "fastapi", "starlette", "httpx", "requests", "pandas", "integrations", "dagster_project"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_packages_never_import_adapters() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN_IN_CORE)
        for package in ("supervisor", "classifiers")
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & FORBIDDEN_IN_CORE
    }
    assert offenders == {}


# Imports by name (importlib.import_module("...")) that the core may make. Each is loaded only when
# one command runs, so importing the core never imports an adapter; each is listed here on purpose.
#   supervisor/handlers.py -> integrations.notify.command: 'trustladder notify slack' is served by
#   the Slack adapter, and the one console entry point dispatches to it.
#   supervisor/handlers.py -> integrations.web: 'trustladder serve' runs the web inbox.
#   supervisor/handlers.py -> integrations.warehouse: 'trustladder show --warehouse' measures the
#   blast radius on a warehouse, only when the user asks for it.
#   supervisor/handlers.py -> integrations.demo.command: 'trustladder demo' builds a DuckDB warehouse
#   and drives the facade, so it lives with the adapters.
LAZY_ADAPTER_IMPORTS = {
    ("supervisor/handlers.py", "integrations.notify.command"),
    ("supervisor/handlers.py", "integrations.web"),
    ("supervisor/handlers.py", "integrations.warehouse"),
    ("supervisor/handlers.py", "integrations.demo.command"),
}


def _imports_by_name(path: Path) -> set[str]:
    """Modules named by string in ``importlib.import_module("...")`` and ``__import__("...")`` calls."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if called in ("import_module", "__import__"):
            names.add(node.args[0].value)
    return names


def test_core_packages_import_adapters_by_name_only_where_listed() -> None:
    found = {
        (str(path.relative_to(ROOT)), name)
        for package in ("supervisor", "classifiers")
        for path in (ROOT / package).rglob("*.py")
        for name in _imports_by_name(path)
        if name.split(".")[0] in FORBIDDEN_IN_CORE
    }
    assert found == LAZY_ADAPTER_IMPORTS


def test_the_notify_adapter_exports_exactly_its_public_names() -> None:
    import integrations.notify

    public = {name for name in vars(integrations.notify) if not name.startswith("_")}
    modules = {"blocks", "command", "errors", "settings", "slack", "annotations"}
    assert public - modules == set(integrations.notify.__all__)


def test_integrations_never_import_the_demo_code_location() -> None:
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "integrations").rglob("*.py") if "dagster_project" in _imports(path)]
    assert offenders == []


def test_the_dagster_adapter_exports_exactly_its_public_names() -> None:
    import integrations.dagster

    public = {name for name in vars(integrations.dagster) if not name.startswith("_")}
    modules = {"execution", "handlers", "reexecute", "resource", "sensors", "annotations"}
    assert public - modules == set(integrations.dagster.__all__)


def test_the_warehouse_adapter_exports_exactly_its_public_names() -> None:
    import integrations.warehouse

    public = {name for name in vars(integrations.warehouse) if not name.startswith("_")}
    modules = {"assets", "catalog", "demo", "measure", "statements", "annotations"}
    assert public - modules == set(integrations.warehouse.__all__)


def test_the_demo_exports_exactly_its_public_names() -> None:
    import integrations.demo

    public = {name for name in vars(integrations.demo) if not name.startswith("_")}
    modules = {"command", "figures", "simulation", "workload", "annotations"}
    assert public - modules == set(integrations.demo.__all__)


def test_classifiers_never_import_the_ledger_or_policy() -> None:
    for path in (ROOT / "classifiers").rglob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {m for m in modules if m.startswith("supervisor.") and m not in ("supervisor.models", "supervisor.errors")}, path


def test_classifiers_public_surface() -> None:
    assert sorted(classifiers.__all__) == ["action_names", "assess", "assess_action", "assess_sql", "check_dialect", "classify_sql", "dialect_names", "pretty_sql"]
    public = {name for name in vars(classifiers) if not name.startswith("_")} - {"annotations"}
    modules = {name for name in public if type(getattr(classifiers, name)).__name__ == "module"}
    assert public - modules == set(classifiers.__all__)


def test_every_module_starts_with_future_annotations() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for package in ("supervisor", "classifiers", "integrations", "dagster_project", "benchmarks")
        for path in (ROOT / package).rglob("*.py")
        if path.stat().st_size and "from __future__ import annotations" not in path.read_text()
        # Dagster reads op, asset and sensor annotations at definition time; such modules say so.
        and "No `from __future__ import annotations` here: Dagster reads" not in path.read_text()
    ]
    assert missing == []


def test_supervisor_public_surface_loads_lazily() -> None:
    import subprocess
    import sys

    import supervisor

    assert supervisor.__all__ == ["Assessment", "Decision", "Ladder", "Outcome", "PolicyDecision", "Proposal", "Supervisor", "decide", "load_ladder"]
    assert all(getattr(supervisor, name).__name__ == name for name in supervisor.__all__)
    probe = "import sys, supervisor.errors, supervisor.cli; print('duckdb' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "False"

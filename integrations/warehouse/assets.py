"""Dagster assets downstream of the tables a proposal changes, from the public asset specs.

dagster is imported only when a ``Definitions`` is given, so measuring without one stays fast.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from supervisor.errors import UsageError

if TYPE_CHECKING:
    from dagster import Definitions


def load_definitions(module: str) -> Definitions:
    """The ``Definitions`` a Python module exposes, as ``dagster dev -m MODULE`` would find it.

    Args:
        module: an importable module, e.g. ``dagster_project``.

    Returns:
        Its ``defs``, or its only ``Definitions`` object.

    Raises:
        UsageError: the module does not import, or exposes no single ``Definitions``.
    """
    from dagster import Definitions

    try:
        loaded = importlib.import_module(module)
    except ImportError as error:
        raise UsageError(f"cannot import --dagster-module {module!r}: {error}; pass an importable module, e.g. dagster_project") from error
    found = [value for name, value in vars(loaded).items() if isinstance(value, Definitions) and not name.startswith("_")]
    if isinstance(getattr(loaded, "defs", None), Definitions):
        return loaded.defs  # type: ignore[no-any-return]
    if len(found) != 1:
        what = "no Definitions" if not found else f"{len(found)} Definitions objects"
        raise UsageError(f"--dagster-module {module!r} has {what}; expose the one to use as 'defs'")
    return found[0]


def downstream_assets(definitions: Definitions, names: Iterable[str]) -> list[str]:
    """Assets that are the named tables, and every asset downstream of them.

    An asset is a table when the last part of its key, or of its ``dagster/table_name`` metadata,
    is the last part of one of ``names``, compared case-insensitively (schemas are not compared:
    asset keys rarely carry the warehouse's schema).

    Args:
        definitions: the code location's definitions.
        names: table and view names, qualified or not.

    Returns:
        Asset keys as Dagster prints them: the matched assets first, then downstream, nearest first.
    """
    from dagster import AssetKey, BetaWarning, PreviewWarning

    wanted = {name.lower().rsplit(".", 1)[-1] for name in names}
    with warnings.catch_warnings():
        # resolving builds the whole code location; dagster warns about its own beta parameters
        warnings.simplefilter("ignore", BetaWarning)
        warnings.simplefilter("ignore", PreviewWarning)
        specs = list(definitions.resolve_all_asset_specs())
    children: dict[AssetKey, set[AssetKey]] = {spec.key: set() for spec in specs}
    for spec in specs:
        for dep in spec.deps:
            children.setdefault(dep.asset_key, set()).add(spec.key)
    matched: list[AssetKey] = []
    for spec in specs:
        table = _table_name(spec.metadata)
        candidates = {spec.key.path[-1].lower()}
        if table:
            candidates.add(table.lower().rsplit(".", 1)[-1])
        if candidates & wanted:
            matched.append(spec.key)
    ordered = sorted(matched, key=lambda key: key.to_user_string())
    seen = set(ordered)
    frontier = list(ordered)
    while frontier:
        layer = sorted({child for key in frontier for child in children.get(key, ()) if child not in seen}, key=lambda key: key.to_user_string())
        ordered += layer
        seen.update(layer)
        frontier = layer
    return [key.to_user_string() for key in ordered]


def _table_name(metadata: Mapping[str, Any]) -> str | None:
    """The ``dagster/table_name`` metadata (or its older name), as text."""
    for key in ("dagster/table_name", "dagster/relation_identifier"):
        value = metadata.get(key)
        value = getattr(value, "value", value)  # a TextMetadataValue or a plain string
        if isinstance(value, str) and value:
            return value
    return None

"""The demo Dagster code location: ``dagster dev -m dagster_project``."""

from __future__ import annotations

from dagster_project.definitions import defs as defs

__all__ = ["defs"]

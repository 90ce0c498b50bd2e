"""Pure classifiers: what a proposed SQL statement or pipeline action would do. No I/O."""

from __future__ import annotations

from classifiers.sql import check_dialect as check_dialect
from classifiers.sql import classify_sql as classify_sql
from classifiers.sql import dialect_names as dialect_names

__all__ = ["check_dialect", "classify_sql", "dialect_names"]

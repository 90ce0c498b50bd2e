"""Pure classifiers: what a proposed SQL statement or pipeline action would do. No I/O."""

from __future__ import annotations

from classifiers.assessment import assess as assess
from classifiers.assessment import assess_sql as assess_sql
from classifiers.pipeline import action_names as action_names
from classifiers.pipeline import assess_action as assess_action
from classifiers.pretty import pretty_sql as pretty_sql
from classifiers.sql import check_dialect as check_dialect
from classifiers.sql import classify_sql as classify_sql
from classifiers.sql import dialect_names as dialect_names

__all__ = ["action_names", "assess", "assess_action", "assess_sql", "check_dialect", "classify_sql", "dialect_names", "pretty_sql"]

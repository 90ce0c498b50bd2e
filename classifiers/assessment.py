"""From a proposal to an ``Assessment``: everything the decision needs to know about what it does.

The assessment is stored with each proposal, so a past proposal can be re-decided under another
ladder without parsing its SQL again.
"""

from __future__ import annotations

from classifiers.pipeline import assess_action
from classifiers.sql import check_dialect, classify_sql
from supervisor.models import Assessment, Category, Proposal, Reason, SqlClassification

_SUMMARY_ITEMS = 3


def assess(proposal: Proposal, *, backfill_max_hours: float = 24.0) -> Assessment:
    """Classify a proposal, SQL or pipeline action.

    Args:
        proposal: what the agent wants done.
        backfill_max_hours: a write or backfill spanning more than this is costly.

    Returns:
        The assessment.

    Raises:
        ClassificationError: an unknown dialect, or invalid parameters for a known action.
    """
    if proposal.sql is not None:
        dialect = check_dialect(proposal.dialect or "")
        return assess_sql(classify_sql(proposal.sql, dialect=dialect, backfill_max_hours=backfill_max_hours), target=proposal.target)
    return assess_action(proposal.action or "", proposal.params, target=proposal.target, backfill_max_hours=backfill_max_hours)


def assess_sql(classification: SqlClassification, *, target: str | None = None) -> Assessment:
    """Summarise a SQL classification for the decision.

    Args:
        classification: what ``classify_sql`` found.
        target: the table or asset the proposal says it touches, if any.

    Returns:
        The assessment: the script's action type, what it changes and reads, and the risky
        findings as notes a reviewer reads.

    Example:
        >>> from classifiers.sql import classify_sql
        >>> a = assess_sql(classify_sql("DELETE FROM shop.orders", dialect="duckdb"))
        >>> a.action_type, a.destructive, a.objects
        ('sql.unscoped_delete', True, ('shop.orders',))
    """
    changed: dict[str, None] = {}
    read: dict[str, None] = {}
    notes: list[Reason] = []
    spans: list[float | None] = []
    for statement in classification.statements:
        for finding in statement.findings:
            if finding.object:
                (read if finding.category is Category.READ else changed).setdefault(finding.object, None)
            if finding.category.is_risky:
                notes.append(Reason(code=finding.category.value, message=finding.message))
            if finding.category is Category.COSTLY_BACKFILL:
                spans.append(finding.span_hours)
    if target and any(c.changes_data for c in classification.categories):
        changed.setdefault(target, None)
    categories = classification.categories
    return Assessment(
        action_type=classification.action_type,
        categories=categories,
        writes=any(category.changes_data for category in categories) or not classification.statements,
        destructive=any(category.is_destructive for category in categories),
        unknown=any(category.is_unknown for category in categories),
        objects=tuple(changed),
        reads=tuple(name for name in read if name not in changed),
        span_hours=None if not spans or None in spans else max(s for s in spans if s is not None),
        notes=tuple(notes),
        summary=_summary(classification),
    )


def _summary(classification: SqlClassification) -> str:
    count = len(classification.statements)
    if not count:
        return "empty SQL: nothing to run"
    messages: list[str] = []
    for category in classification.categories:
        for statement in classification.statements:
            messages.extend(f.message for f in statement.findings if f.category is category and f.message not in messages)
    shown = "; ".join(messages[:_SUMMARY_ITEMS])
    more = f" (+{len(messages) - _SUMMARY_ITEMS} more)" if len(messages) > _SUMMARY_ITEMS else ""
    noun = "statement" if count == 1 else "statements"
    return f"{count} {classification.dialect} {noun}: {shown}{more}"

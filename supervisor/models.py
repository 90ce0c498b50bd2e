"""The pydantic contracts shared by the classifiers, the decision core and every adapter."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    """Base for every contract: unknown fields are rejected and instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(str, Enum):
    """What one SQL statement does, as the public contract names it.

    Members are declared from the most to the least severe; ``severity`` follows that
    order, so ``max(categories, key=...)`` picks the riskiest.
    """

    DROP = "drop"
    TRUNCATE = "truncate"
    UNSCOPED_DELETE = "unscoped_delete"
    UNSCOPED_UPDATE = "unscoped_update"
    OVERWRITE = "overwrite"
    PARSE_ERROR = "parse_error"
    OPAQUE = "opaque"
    ACCESS_CHANGE = "access_change"
    COSTLY_BACKFILL = "costly_backfill"
    SCHEMA_CHANGE = "schema_change"
    WRITE = "write"
    READ = "read"

    @property
    def severity(self) -> int:
        """Higher is riskier: ``read`` is 0, ``drop`` is the highest."""
        return _SEVERITY[self]

    @property
    def is_risky(self) -> bool:
        """Everything but ``read`` and ``write``."""
        return self not in (Category.READ, Category.WRITE)

    @property
    def is_destructive(self) -> bool:
        """Loses stored data in a way that cannot be scoped back: never auto-approved."""
        return self in _DESTRUCTIVE

    @property
    def is_unknown(self) -> bool:
        """The effect could not be established from the text."""
        return self in (Category.PARSE_ERROR, Category.OPAQUE)

    @property
    def changes_data(self) -> bool:
        """Anything but a pure read."""
        return self is not Category.READ


_SEVERITY = {category: rank for rank, category in enumerate(reversed(list(Category)))}
_DESTRUCTIVE = frozenset(
    {
        Category.DROP,
        Category.TRUNCATE,
        Category.UNSCOPED_DELETE,
        Category.UNSCOPED_UPDATE,
        Category.OVERWRITE,
    }
)


def sort_categories(categories: set[Category] | frozenset[Category]) -> tuple[Category, ...]:
    """Order categories from the riskiest to the safest.

    Args:
        categories: any collection of categories.

    Returns:
        A tuple, riskiest first.
    """
    return tuple(sorted(categories, key=lambda c: -c.severity))


class Finding(Model):
    """One thing a classifier noticed about a statement."""

    category: Category = Field(description="The contract category this finding raises.")
    object: str | None = Field(
        default=None,
        description="The object it touches, as qualified as the SQL names it (catalog.schema.table).",
    )
    message: str = Field(description="What the statement does, in words a reviewer understands.")
    span_hours: float | None = Field(
        default=None,
        description="For costly_backfill: the time span the write covers, in hours; None when open-ended.",
    )


class SqlError(Model):
    """Where and why a statement could not be parsed."""

    message: str = Field(description="The parser's message.")
    line: int | None = Field(default=None, description="1-based line of the offending token.")
    col: int | None = Field(default=None, description="1-based column of the offending token.")


class StatementClassification(Model):
    """The categories and findings of one statement of a script."""

    index: int = Field(description="0-based position of the statement in the script.")
    sql: str = Field(description="The statement's text as written.")
    categories: tuple[Category, ...] = Field(description="Distinct categories, riskiest first.")
    findings: tuple[Finding, ...] = Field(description="What was found, in rule order.")
    error: SqlError | None = Field(default=None, description="Set when the statement did not parse.")


class SqlClassification(Model):
    """The classification of a whole SQL text: every statement, and the script's action type."""

    dialect: str = Field(description="The sqlglot dialect the text was read in.")
    action_type: str = Field(description="sql.<riskiest category>; sql.read for a script that only reads.")
    categories: tuple[Category, ...] = Field(description="Union of the statements' categories, riskiest first.")
    statements: tuple[StatementClassification, ...] = Field(description="One entry per statement.")

    @property
    def is_risky(self) -> bool:
        """Whether any statement raised a risky category."""
        return any(category.is_risky for category in self.categories)

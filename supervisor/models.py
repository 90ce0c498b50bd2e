"""The pydantic contracts shared by the classifiers, the decision core and every adapter."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


class Decision(str, Enum):
    """What the gate says about a proposal, from the most to the least permissive."""

    ALLOW = "allow"
    NOTIFY = "notify"
    REQUIRE_APPROVAL = "require_approval"
    DENY = "deny"

    @property
    def may_run(self) -> bool:
        """``allow`` and ``notify`` may run now; the others may not."""
        return self in (Decision.ALLOW, Decision.NOTIFY)

    @property
    def needs_human(self) -> bool:
        """A human must approve before it runs."""
        return self is Decision.REQUIRE_APPROVAL


class Outcome(str, Enum):
    """What happened when an executed proposal ran."""

    SUCCESS = "success"
    FAILURE = "failure"
    INCIDENT = "incident"
    ROLLED_BACK = "rolled_back"

    @property
    def is_error(self) -> bool:
        """Everything but ``success`` counts against the error rate."""
        return self is not Outcome.SUCCESS

    @property
    def is_severe(self) -> bool:
        """An incident or a rollback: demotes its action type at once."""
        return self in (Outcome.INCIDENT, Outcome.ROLLED_BACK)


class Reason(Model):
    """Why a decision came out as it did: a stable code and a sentence for the reviewer."""

    code: str = Field(description="Stable machine-readable code, e.g. destructive, level, cross_team.")
    message: str = Field(description="What triggered it, naming the object or value involved.")


class Proposal(Model):
    """What an agent wants done: SQL (``sql``, ``dialect``) or a pipeline action (``action``, ``params``)."""

    sql: str | None = Field(default=None, description="The SQL text, when the proposal is SQL.")
    dialect: str | None = Field(default=None, description="The sqlglot dialect the SQL is written in.")
    action: str | None = Field(default=None, description="The pipeline action's name, e.g. retry_task.")
    params: dict[str, Any] = Field(default_factory=dict, description="The pipeline action's parameters.")
    agent: str | None = Field(default=None, description="The proposing agent; it may never approve its own proposal.")
    reason: str | None = Field(default=None, description="The agent's diagnosis: why this fix.")
    confidence: float | None = Field(default=None, ge=0.0, le=1.0, description="The agent's confidence, 0..1.")
    team: str | None = Field(default=None, description="The team the proposing agent acts for.")
    target: str | None = Field(default=None, description="The asset, job or table the action touches.")
    rollback: str | None = Field(default=None, description="How to undo it.")
    context: dict[str, Any] = Field(default_factory=dict, description="Free-form context, e.g. estimated_cost_usd.")

    @model_validator(mode="after")
    def _one_kind(self) -> Proposal:
        if (self.sql is None) == (self.action is None):
            raise ValueError("a proposal is either SQL (sql) or a pipeline action (action), exactly one of them")
        if self.sql is not None and not self.dialect:
            raise ValueError("a SQL proposal needs its dialect, e.g. duckdb or snowflake")
        return self

    @property
    def is_sql(self) -> bool:
        """Whether this proposal is SQL rather than a pipeline action."""
        return self.sql is not None


class Assessment(Model):
    """What the classifiers found about a proposal: everything the decision needs, without re-parsing.

    Stored with each proposal, so past proposals can be re-decided under another ladder.
    """

    action_type: str = Field(description="The trust-ladder key, e.g. sql.drop or pipeline.retry_task.")
    categories: tuple[Category, ...] = Field(default=(), description="SQL categories, riskiest first; empty for pipeline actions.")
    writes: bool = Field(description="Whether it changes anything; pure reads are never gated.")
    destructive: bool = Field(default=False, description="Whether it loses data or stops something in a way that cannot be scoped back.")
    unknown: bool = Field(default=False, description="Whether its effect could not be established (parse error, opaque SQL, unknown action).")
    objects: tuple[str, ...] = Field(default=(), description="What it changes: tables, assets, jobs, as qualified as named.")
    reads: tuple[str, ...] = Field(default=(), description="What it only reads.")
    span_hours: float | None = Field(default=None, description="For backfills: the time span covered; None when unknown or open-ended.")
    max_level: int | None = Field(default=None, ge=1, le=4, description="A cap on the level for this proposal, e.g. 1 for a long backfill.")
    notes: tuple[Reason, ...] = Field(default=(), description="What the classifier wants a reviewer to know, e.g. scale to zero is a stop.")
    summary: str = Field(description="One line: what the proposal does.")


class PolicyDecision(Model):
    """The gate's answer for one proposal under one ladder, at one moment."""

    decision: Decision = Field(description="allow, notify, require_approval or deny.")
    ladder_decision: Decision = Field(description="What the ladder says before observe mode: equal to decision in enforce mode.")
    level: int = Field(ge=1, le=4, description="The level the action type was decided at.")
    action_type: str = Field(description="The trust-ladder key the proposal maps to.")
    categories: tuple[Category, ...] = Field(default=(), description="SQL categories, riskiest first.")
    reasons: tuple[Reason, ...] = Field(description="Why, most important first.")
    policy_version: str = Field(description="sha256 of the ladder file the decision was made under.")
    proposal_hash: str = Field(description="sha256 of the normalised action.")
    mode: str = Field(default="enforce", description="enforce, or observe (recorded, never run).")

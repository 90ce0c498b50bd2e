"""Rules for statements that lose stored data: DROP, TRUNCATE and wholesale overwrites."""

from __future__ import annotations

from sqlglot import exp

from classifiers.context import StatementContext, table_name
from supervisor.models import Category, Finding

from .common import finding, kind_of, shown
from .scope import always_true, never_true

# What CREATE OR REPLACE empties of everything in it (Snowflake drops the old one whole).
CONTAINERS = frozenset({"SCHEMA", "DATABASE"})
# Accounts and roles: dropping one also changes who may see what.
PRINCIPALS = frozenset({"USER", "ROLE", "LOGIN", "GROUP"})
# ALTER ... DROP of these removes no stored data.
_NON_DATA_DROPS = frozenset(
    {"CONSTRAINT", "INDEX", "KEY", "PRIMARY KEY", "FOREIGN KEY", "DEFAULT", "NOT NULL", "CHECK", "UNIQUE",
     "PROJECTION", "STATISTICS", "SEARCH OPTIMIZATION", "CLUSTERING KEY", "ROW ACCESS POLICY", "TAG"}
)


def is_data_drop_action(node: exp.Expression) -> bool:
    """Whether an ALTER action removes or replaces stored data (a column or a partition)."""
    if isinstance(node, (exp.DropPartition, exp.ReplacePartition)):
        return True
    return isinstance(node, exp.Drop) and kind_of(node) not in _NON_DATA_DROPS


def drop_object(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """DROP of any object, and ALTER ... DROP COLUMN / DROP PARTITION, is ``drop``.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("/* cleanup */ drop TABLE shop.orders", dialect="mysql").action_type
        'sql.drop'
    """
    found: list[Finding] = []
    for node in ctx.nodes.get(exp.Drop, ()):
        alter = node.parent if isinstance(node.parent, exp.Alter) else None
        if alter is not None:
            if not is_data_drop_action(node):
                continue
            owner = table_name(alter.this)
            kind = kind_of(node) or "COLUMN"
            for column in node.args.get("tables") or [node.this]:
                column_name = column.name if column is not None else ""
                name = f"{owner}.{column_name}" if owner and column_name else owner
                found.append(finding(Category.DROP, name, f"ALTER TABLE {owner} DROP {kind} {column_name} deletes its data"))
            continue
        kind = kind_of(node) or "OBJECT"
        for table in node.args.get("tables") or [node.this]:
            name = table_name(table)
            found.append(finding(Category.DROP, name, f"DROP {kind} {name} cannot be undone"))
            if kind in PRINCIPALS:
                found.append(finding(Category.ACCESS_CHANGE, name, f"DROP {kind} {name} changes who may see what"))
    for node in ctx.nodes.get(exp.DropPartition, ()):
        owner = table_name(node.parent.this) if isinstance(node.parent, exp.Alter) else None
        found.append(finding(Category.DROP, owner, f"ALTER TABLE {owner} DROP PARTITION {shown(node, ctx).removeprefix('DROP ')} deletes the partition's rows"))
    return found


def truncate_table(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """TRUNCATE in any form is ``truncate``.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("TRUNCATE a, b", dialect="postgres").categories
        (<Category.TRUNCATE: 'truncate'>,)
    """
    found: list[Finding] = []
    for node in ctx.nodes.get(exp.TruncateTable, ()):
        what = "DATABASE" if node.args.get("is_database") else "TABLE"
        for table in node.expressions:
            name = table_name(table)
            found.append(finding(Category.TRUNCATE, name, f"TRUNCATE {what} {name} removes every row"))
    return found


def overwrite_table(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """Replacing a table's data wholesale is ``overwrite``.

    That is CREATE OR REPLACE TABLE (and of a schema or database, which drops what is in it,
    so ``drop``), INSERT OVERWRITE (ALL), Databricks INSERT ... REPLACE
    WHERE / USING, ClickHouse REPLACE PARTITION, and MERGE ... ON FALSE ... WHEN NOT MATCHED BY
    SOURCE THEN DELETE.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("INSERT OVERWRITE TABLE t SELECT * FROM s", dialect="spark").action_type
        'sql.overwrite'
    """
    found: list[Finding] = []
    for node in ctx.nodes.get(exp.Create, ()):
        if not node.args.get("replace"):
            continue
        kind = kind_of(node)
        if kind == "TABLE":
            name = table_name(node.this)
            found.append(finding(Category.OVERWRITE, name, f"CREATE OR REPLACE TABLE {name} replaces the table and all its rows"))
        elif kind in CONTAINERS:
            name = table_name(node.this)
            found.append(finding(Category.DROP, name, f"CREATE OR REPLACE {kind} {name} drops the {kind.lower()} and every object in it"))
    for node in ctx.nodes.get(exp.Insert, ()):
        if isinstance(node.parent, exp.When):
            continue
        args = node.args
        if args.get("overwrite"):
            name = table_name(node.this)
            found.append(finding(Category.OVERWRITE, name, f"INSERT OVERWRITE replaces the existing rows of {name}"))
        elif args.get("where") is not None:
            name = table_name(node.this)
            condition = shown(args["where"], ctx)
            found.append(finding(Category.OVERWRITE, name, f"INSERT ... REPLACE WHERE {condition} replaces the matching rows of {name}"))
        elif args.get("using"):
            name = table_name(node.this)
            keys = ", ".join(key.name for key in args["using"])
            found.append(finding(Category.OVERWRITE, name, f"INSERT ... REPLACE USING ({keys}) replaces the rows of {name} sharing those keys"))
    for node in ctx.nodes.get(exp.MultitableInserts, ()):
        # sqlglot keeps no OVERWRITE flag on INSERT OVERWRITE ALL: its second token says it.
        if len(ctx.tokens) > 1 and ctx.tokens[1].text.upper() == "OVERWRITE":
            for name in multitable_targets(node):
                found.append(finding(Category.OVERWRITE, name, f"INSERT OVERWRITE ALL replaces the existing rows of {name}"))
    for node in ctx.nodes.get(exp.LoadData, ()):
        if node.args.get("overwrite"):
            name = table_name(node.this)
            found.append(finding(Category.OVERWRITE, name, f"LOAD DATA ... OVERWRITE INTO TABLE replaces the rows of {name}"))
    for node in ctx.nodes.get(exp.ReplacePartition, ()):
        owner = table_name(node.parent.this) if isinstance(node.parent, exp.Alter) else None
        found.append(finding(Category.OVERWRITE, owner, f"ALTER TABLE {owner} REPLACE PARTITION replaces the partition's rows"))
    for node in ctx.nodes.get(exp.Merge, ()):
        if merge_replaces(node):
            name = table_name(node.this)
            found.append(finding(Category.OVERWRITE, name, f"MERGE ... ON FALSE deletes every row of {name} not in the source"))
    return found


# BigQuery table options that make the server delete a table, or its older partitions.
_EXPIRATIONS = {
    "expiration_timestamp": (Category.DROP, "BigQuery deletes the table when that time passes"),
    "partition_expiration_days": (Category.DROP, "BigQuery deletes every partition older than that"),
}


def lost_by_alter(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """ALTERs that lose stored data without a DROP, and CREATE OR REPLACE of an internal stage.

    A column type change whose ``USING`` ignores the row (``USING NULL``) overwrites the column
    in every row (``unscoped_update``); MySQL's BLACKHOLE engine stores nothing, so converting a table to it discards every row
    (``truncate``); a BigQuery expiration deletes the table or its older partitions (``drop``);
    a ClickHouse TTL makes the server delete the rows it expires (``unscoped_delete``);
    replacing a Snowflake internal stage (one without a URL) deletes the files in it (``drop``).
    The forms sqlglot keeps as commands (Oracle's SET UNUSED, ClickHouse's CLEAR COLUMN,
    Redshift's APPEND FROM) are read from their tokens.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("ALTER TABLE t ENGINE = BLACKHOLE", dialect="mysql").action_type
        'sql.truncate'
    """
    found: list[Finding] = []
    for node in ctx.nodes.get(exp.Alter, ()):
        name = table_name(node.this)
        for option in node.args.get("options") or ():
            if isinstance(option, exp.EngineProperty) and option.name.upper() == "BLACKHOLE":
                found.append(blackhole_finding(name))
        for action in node.args.get("actions") or ():
            if isinstance(action, exp.AlterSet):
                for prop in action.find_all(exp.Property):
                    loss = _EXPIRATIONS.get(prop.name.lower())
                    if loss is not None and not isinstance(prop.args.get("value"), exp.Null):
                        found.append(finding(loss[0], name, f"ALTER TABLE {name} SET OPTIONS ({prop.name} = ...): {loss[1]}"))
            elif ttl_deletes_rows(action):
                found.append(ttl_delete_finding(name))
            elif isinstance(action, exp.AlterColumn) and _same_for_every_row(action.args.get("using")):
                column = action.name
                found.append(finding(
                    Category.UNSCOPED_UPDATE, name,
                    f"ALTER TABLE {name} ALTER COLUMN {column} ... USING {shown(action.args['using'], ctx)} gives {column} "
                    "the same value in every row, whatever it held",
                ))
    for node in ctx.nodes.get(exp.Create, ()):
        if node.args.get("replace") and kind_of(node) == "STAGE" and not _has_property(node, "url"):
            name = table_name(node.this)
            found.append(finding(Category.DROP, name, f"CREATE OR REPLACE STAGE {name} deletes the files in the internal stage it replaces"))
    return found


def _same_for_every_row(using: object) -> bool:
    """Whether a column type change's USING expression ignores the rows (``USING NULL``,
    ``USING 0``, ``USING now()``): every row then gets that one value."""
    return isinstance(using, exp.Expression) and using.find(exp.Column) is None


def blackhole_finding(name: str | None) -> Finding:
    """What converting a table to MySQL's BLACKHOLE engine does (parsed or read from tokens)."""
    return finding(Category.TRUNCATE, name, f"ALTER TABLE {name} ENGINE = BLACKHOLE discards every row: the engine stores nothing")


def ttl_delete_finding(name: str | None) -> Finding:
    """What a ClickHouse table TTL that deletes rows does (parsed or read from tokens)."""
    return finding(Category.UNSCOPED_DELETE, name, f"ALTER TABLE {name} MODIFY TTL makes the server delete the rows the TTL expires")


def ttl_deletes_rows(action: exp.Expression) -> bool:
    """Whether an ALTER action sets a ClickHouse table TTL that deletes rows (the default TTL
    action; ``TO DISK``, ``TO VOLUME`` and ``RECOMPRESS`` only move or compress them)."""
    ttl = action if isinstance(action, exp.MergeTreeTTL) else action.find(exp.MergeTreeTTL)
    if ttl is None:
        return False
    return any(
        not isinstance(rule, exp.MergeTreeTTLAction) or rule.args.get("delete")
        or not any(rule.args.get(kind) for kind in ("recompress", "to_disk", "to_volume"))
        for rule in ttl.expressions
    )


def _has_property(node: exp.Expression, name: str) -> bool:
    properties = node.args.get("properties")
    return properties is not None and any(prop.name.lower() == name for prop in properties.expressions if isinstance(prop, exp.Property))


def multitable_targets(node: exp.MultitableInserts) -> list[str | None]:
    """The tables a Snowflake INSERT ALL / INSERT FIRST writes to."""
    names: list[str | None] = []
    for insert in node.expressions:
        target = insert.this if isinstance(insert, exp.ConditionalInsert) else insert
        names.append(table_name(target.this if isinstance(target, exp.Insert) else target))
    return names


def merge_replaces(node: exp.Merge) -> bool:
    """Whether a MERGE deletes every target row the source lacks, unconditionally (ON FALSE)."""
    deletes_unmatched = any(
        when.args.get("source") and isinstance(when.args.get("then"), exp.Var) and when.args["then"].name.upper() == "DELETE"
        for when in (node.args.get("whens").expressions if node.args.get("whens") else [])
    )
    if not deletes_unmatched or node.args.get("using_cond"):
        return False  # MERGE ... USING (columns) joins on columns of the target
    on = node.args.get("on")
    return not isinstance(on, exp.Expression) or never_true(on) or always_true(on)

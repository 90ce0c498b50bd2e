"""Rules for DELETE and UPDATE: scoped is a write, unscoped touches every row of the target."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.simplify import simplify

from classifiers.context import StatementContext, table_name, target_names
from supervisor.models import Category, Finding

from .common import finding, shown


def delete_without_where(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """A DELETE with no predicate restricting the target's rows is ``unscoped_delete``.

    No WHERE, an always-true WHERE after constant folding (``1=1``, ``NOT FALSE``, ``x = 5 OR
    1 = 1``), or a WHERE / USING that never refers to the target's columns. A contradiction
    (``1 = 2``) deletes nothing and stays a scoped ``write``.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("DELETE FROM t WHERE x = 5 OR 1 = 1", dialect="postgres").action_type
        'sql.unscoped_delete'
    """
    # Pairs, not a dict: a node's hash is computed from its whole tree.
    tables = [
        (node, [ref for ref in node.args.get("tables") or () if isinstance(ref, exp.Table)] or _listed_targets(node))
        for node in ctx.nodes.get(exp.Delete, ())
    ]
    return _scope_findings(ctx, tables, "DELETE", Category.UNSCOPED_DELETE, ("removes every row of", "removes the rows of"))


def _listed_targets(node: exp.Expression) -> list[exp.Table]:
    """MySQL's ``DELETE FROM a, b USING ...`` deletes from every table listed before USING."""
    target = node.this
    if not node.args.get("using") or not isinstance(target, exp.Table) or not target.args.get("joins"):
        return []
    return [target, *(join.this for join in target.args["joins"] if isinstance(join.this, exp.Table))]


def update_without_where(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """An UPDATE with no predicate restricting the target's rows is ``unscoped_update``.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("UPDATE t SET a = 1 FROM s WHERE s.flag", dialect="postgres").action_type
        'sql.unscoped_update'
    """
    # MySQL's UPDATE a, b SET b.x = ... changes the tables its assignments name.
    tables = [
        (
            node,
            [
                exp.table_(item.this.table) for item in node.args.get("expressions") or ()
                if isinstance(item, exp.EQ) and isinstance(item.this, exp.Column) and item.this.table
            ],
        )
        for node in ctx.nodes.get(exp.Update, ())
        if not isinstance(node.parent, exp.When)  # MERGE ... THEN UPDATE SET * has no list
    ]
    return _scope_findings(ctx, tables, "UPDATE", Category.UNSCOPED_UPDATE, ("changes every row of", "changes the rows of"))


def upsert_of_itself(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """An INSERT that selects every row of its own target and updates on conflict changes them all.

    Each row read back conflicts with itself, so ``INSERT INTO t SELECT * FROM t ON CONFLICT
    (id) DO UPDATE SET ...`` (MySQL: ``ON DUPLICATE KEY UPDATE``) is an UPDATE of every row of
    ``t``: ``unscoped_update``. A WHERE that restricts the rows read, a join, a grouping or a
    LIMIT keeps it a write, as does ``DO NOTHING``.

    Example:
        >>> from classifiers import classify_sql
        >>> sql = "INSERT INTO t SELECT * FROM t ON CONFLICT (id) DO UPDATE SET v = 0"
        >>> classify_sql(sql, dialect="postgres").action_type
        'sql.unscoped_update'
    """
    found: list[Finding] = []
    for node in ctx.nodes.get(exp.Insert, ()):
        conflict = node.args.get("conflict")
        source = node.expression
        if conflict is None or not conflict.expressions or type(source) is not exp.Select:
            continue  # no ON CONFLICT ... UPDATE, or rows that are not read back by one SELECT
        name = table_name(node.this)
        from_ = source.args.get("from_")
        args = source.args
        if not name or from_ is None or any(args.get(key) for key in ("joins", "group", "limit", "having", "qualify")):
            continue
        if not _same_table(table_name(from_.this), name.lower()):
            continue
        where = _where(source)
        if where is not None and _truth(where, name.lower()) is not True:
            continue
        found.append(finding(Category.UNSCOPED_UPDATE, name, f"INSERT ... SELECT reads every row of {name} back, and updating on conflict changes each of them"))
    return found


def _scope_findings(
    ctx: StatementContext, tables: list[tuple[exp.Expression, list[exp.Table]]], verb: str, unscoped: Category, wording: tuple[str, str]
) -> list[Finding]:
    """Findings for each DELETE or UPDATE (with the tables it names) and each MERGE that does it."""
    every, some = wording
    found: list[Finding] = []
    for node, named in tables:
        if isinstance(node.parent, exp.When):
            continue  # MERGE ... THEN DELETE/UPDATE acts on the rows the ON condition matched
        for target in _changed_tables(node, named):
            name = table_name(target)
            problem = _scope_problem(node, target, name, ctx)
            if problem:
                found.append(finding(unscoped, name, f"{verb} {problem}: it {every} {name}"))
            else:
                found.append(finding(Category.WRITE, name, f"{verb} {some} {name} its WHERE selects"))
    for merge, clause, problem in _unscoped_merges(ctx, verb):
        name = table_name(merge.this)
        found.append(finding(unscoped, name, f"MERGE ... {clause} THEN {verb} {problem}: it {every} {name}"))
    return found


def _changed_tables(node: exp.Expression, named: list[exp.Table]) -> list[exp.Expression | None]:
    """The tables a DELETE or UPDATE changes: its target, or in MySQL's multi-table forms
    (``DELETE i FROM orders o JOIN items i ...``) each table it names, found among its sources."""
    target = node.this
    if target is None and isinstance(node.parent, exp.Alter):
        return [node.parent.this]  # ClickHouse: ALTER TABLE t DELETE WHERE ...
    if not isinstance(target, exp.Table):
        return list(named) or [target]  # DELETE dataset.t WHERE ... (BigQuery, T-SQL): no FROM, the table is named
    if not named:
        return [target]
    sources = [target, *(join.this for join in target.args.get("joins") or ())]
    found: list[exp.Expression | None] = []
    for ref in named:
        wanted = ref.name.lower()
        match = next((s for s in sources if isinstance(s, exp.Table) and (s.alias or s.name).lower() == wanted), None)
        match = match or next((s for s in sources if isinstance(s, exp.Table) and s.name.lower() == wanted), ref)
        if all(match is not seen for seen in found):
            found.append(match)
    return found


def _unscoped_merges(ctx: StatementContext, verb: str) -> list[tuple[exp.Expression, str, str]]:
    """MERGEs whose WHEN ... THEN ``verb`` reaches every row of the target.

    A WHEN MATCHED clause does when the ON condition matches every target row: always true
    (``ON 1 = 1``), or never referring to the target's columns (``ON s.flag``), given a source
    with such rows; and when its own condition does not restrict the target's rows either
    (``WHEN MATCHED AND s.x = 1``). A WHEN NOT MATCHED BY SOURCE THEN UPDATE does when the ON
    condition never holds (the DELETE of that form is an ``overwrite``).
    """
    found: list[tuple[exp.Expression, str, str]] = []
    for merge in ctx.nodes.get(exp.Merge, ()):
        whens = merge.args.get("whens")
        names = target_names(merge.this)
        own = (table_name(merge.this) or "").lower() or None
        acting = [
            when for when in (whens.expressions if whens else ())
            if (when.args.get("matched") or when.args.get("source")) and _is_action(when.args.get("then"), verb)
        ]
        if not acting or merge.args.get("using_cond"):
            continue  # MERGE ... USING (columns): joined on columns of the target
        on = merge.args.get("on")
        truth = _truth(on, own) if isinstance(on, exp.Expression) else None
        # WHEN NOT MATCHED BY SOURCE acts on the target rows the ON condition matches to nothing;
        # there the source's columns are null, so only a condition that always holds keeps them all.
        by_source = [
            when for when in acting
            if when.args.get("source") and (when.args.get("condition") is None or _truth(when.args["condition"], own) is True)
        ]
        if by_source and truth is False and verb == "UPDATE":
            found.append((merge, "WHEN NOT MATCHED BY SOURCE", f"joins on a condition that never holds ({shown(on, ctx)}), so no target row is matched"))
        matched = [
            when for when in acting
            if not when.args.get("source") and _restricts_nothing(when.args.get("condition"), names, own)
        ]
        if not matched:
            continue
        if not isinstance(on, exp.Expression):
            found.append((merge, "WHEN MATCHED", "has no ON condition"))
        elif truth is True:
            found.append((merge, "WHEN MATCHED", f"joins on an always-true condition ({shown(on, ctx)})"))
        elif not _refers_to(on, names, []):
            found.append((merge, "WHEN MATCHED", f"joins on a condition ({shown(on, ctx)}) that does not refer to any of its target's columns"))
        elif (loose := _loose_branch(on, names, [], own)) is not None:
            found.append((merge, "WHEN MATCHED", f"joins on a condition with a branch ({shown(loose, ctx)}) that does not refer to any of its target's columns"))
        elif _self_key_join(merge.args.get("using"), own, on, names):
            found.append((merge, "WHEN MATCHED", f"joins its target to itself on its own key ({shown(on, ctx)}), so every row matches"))
    return found


def _restricts_nothing(condition: exp.Expression | None, names: set[str], own: str | None) -> bool:
    """Whether a WHEN clause's condition leaves every matched target row in: there is none, it
    always holds, or it reads no column of the target (``WHEN MATCHED AND s.x = 1``)."""
    if condition is None:
        return True
    truth = _truth(condition, own)
    return truth is True or (truth is None and not _refers_to(condition, names, []))


def _self_key_join(source: object, own: str | None, condition: exp.Expression, names: set[str]) -> bool:
    """Whether ``source`` is the target table again, joined to it only on the same columns
    (``USING orders s ON t.id = s.id``): every target row matches itself."""
    whole = _read_whole(source)
    if not own or whole is None or not _same_table(table_name(whole), own):
        return False
    alias = (source.alias or whole.name).lower()  # type: ignore[attr-defined]
    return alias not in names and _pairs_keys(condition, {alias}, names)


# What a subquery may hold and still be its table's every row: no filter, join, grouping or limit.
_NARROWING = ("where", "joins", "group", "having", "limit", "qualify", "distinct", "with_", "offset", "fetch")


def _read_whole(source: object) -> exp.Table | None:
    """The table a source is, or reads every row of with its columns passed through
    (``(SELECT * FROM t) AS s``, ``(SELECT id, 1 AS flag FROM t) AS s``); else None."""
    if isinstance(source, exp.Table):
        return source
    if not isinstance(source, exp.Subquery) or type(source.this) is not exp.Select:
        return None
    args = source.this.args
    from_ = args.get("from_")
    if from_ is None or type(from_.this) is not exp.Table or any(args.get(key) for key in _NARROWING):
        return None
    passed = all(type(item) in (exp.Star, exp.Column) or (type(item) is exp.Alias and type(item.this) is not exp.Column)
                 for item in source.this.expressions)
    return from_.this if passed else None


def _is_action(then: object, verb: str) -> bool:
    # sqlglot keeps THEN DELETE as a word and THEN UPDATE SET ... as an Update.
    if verb == "DELETE":
        return isinstance(then, (exp.Var, exp.Delete)) and (type(then) is exp.Delete or then.name.upper() == "DELETE")
    return isinstance(then, exp.Update)


def _where(node: exp.Expression) -> exp.Expression | None:
    where = node.args.get("where")
    return where.this if isinstance(where, exp.Where) else where


def _scope_problem(node: exp.Expression, target: exp.Expression | None, name: str | None, ctx: StatementContext) -> str | None:
    """Why the statement is unscoped, or None when a predicate restricts the target's rows.

    ``name`` is the target's name, as ``table_name`` gives it.
    """
    names = target_names(target)
    selves: set[str] = set()
    join_conditions, others = _joins(node, target, name, names, selves)
    # A join on an always-true condition (``ON t.id = t.id``) restricts nothing.
    own = name.lower() if name else None
    join_conditions = [on for on in join_conditions if _truth(on, own) is not True]
    where = _where(node)
    if selves:
        # The target joined to itself only on its own key: every row matches itself.
        links = [c for c in [where, *join_conditions] if c is not None]
        if links and all(_pairs_keys(c, selves, names - selves) for c in links):
            return f"joins its target to itself on its own key ({shown(links[0], ctx)}), so every row matches"
    if where is None:
        if any(_refers_to(on, names, others) for on in join_conditions):
            return None
        if join_conditions or others:
            return "has no WHERE clause and no join predicate on its target"
        return "has no WHERE clause"
    truth = _truth(where, own)
    if truth is False:
        return None
    if truth is True:
        return f"has an always-true WHERE ({shown(where, ctx)})"
    if any(_refers_to(on, names, others) for on in join_conditions):
        return None
    if _refers_to(where, names, others):
        loose = _loose_branch(where, names, others, own)
        if loose is None:
            return None
        return f"has a WHERE with a branch ({shown(loose, ctx)}) that does not refer to any of its target's columns, so it can let every row through"
    if others:
        return f"has no predicate joining its target to {', '.join(dict.fromkeys(others))}"
    return f"has a WHERE ({shown(where, ctx)}) that does not refer to any of its target's columns"


def _loose_branch(condition: exp.Expression, names: set[str], others: list[str], own: str | None) -> exp.Expression | None:
    """An OR branch of a predicate that may hold without looking at the target's row.

    ``id = 5 OR $1 IS NULL`` deletes every row when the parameter is null, and ``t.id = s.id
    OR s.flag`` matches every target row once one source row is flagged. A branch that never
    holds (``OR 1 = 2``) lets nothing through.
    """
    node = _unwrapped(condition)
    if not isinstance(node, exp.Or):
        return None
    for branch in _disjuncts(node):
        if _truth(branch, own) is not False and not _refers_to(branch, names, others):
            return branch
    return None


def _joins(
    node: exp.Expression, target: exp.Expression | None, own_name: str | None, names: set[str], selves: set[str]
) -> tuple[list[exp.Expression], list[str]]:
    """Join conditions of a DELETE/UPDATE, and the names of the other tables it reads.

    A source that is the target again under an alias (T-SQL ``UPDATE t ... FROM t AS x``) adds
    that alias to ``names``, and to ``selves`` when it differs from the target's own.
    """
    conditions: list[exp.Expression] = []
    others: list[str] = []
    using = node.args.get("using")
    from_ = node.args.get("from_")
    target_joins = isinstance(node.this, exp.Table) and node.this.args.get("joins")
    if not isinstance(using, list) and not isinstance(from_, exp.From) and not target_joins:
        return conditions, others  # the common case: the target alone, joined to nothing
    sources: list[exp.Expression] = []
    if isinstance(node.this, exp.Table):
        sources.append(node.this)  # the target, or the first source of a multi-table DELETE
    if isinstance(using, list):
        sources.extend(using)
    if isinstance(from_, exp.From):
        sources.append(from_.this)
    own = {own_name.lower()} if own_name else set()
    for source in sources:
        for table in [source] + [join.this for join in source.args.get("joins") or []]:
            if table is target:
                continue
            whole = _read_whole(table)
            if whole is not None and whole is not table and (table_name(whole) or "").lower() in own:
                # A subquery of every row of the target (FROM (SELECT id, a FROM t) q) is the target again.
                aliases = {table.alias.lower()} - {""}
                selves |= aliases - names
                names |= aliases
                continue
            name = table_name(table) or table.alias_or_name
            if name and name.lower() in own:
                aliases = target_names(table)
                selves |= aliases - names
                names |= aliases
            elif name:
                others.append(name)
        for join in source.args.get("joins") or []:
            if join.args.get("on") is not None:
                conditions.append(join.args["on"])
            elif join.args.get("using"):
                conditions.append(exp.column(join.args["using"][0].name))
    return conditions, others


def _refers_to(condition: exp.Expression, names: set[str], others: list[str]) -> bool:
    """Whether a predicate reads a column of the target (so it can restrict the target's rows).

    A column inside a subquery counts only when it is qualified with the target's name or
    alias (a correlated subquery); an unqualified column outside subqueries is the target's
    unless the statement reads other tables, where it is taken as the target's too, since a
    warehouse rejects ambiguous names.
    """
    # The common case, a comparison of the target's column (``x = 5``, ``t.x IS NULL``), is
    # decided without walking the predicate: its first operand is a direct child, so it sits in
    # no subquery.
    first = condition.this
    if type(first) is exp.Column and first.name.upper() not in _ROW_COUNTERS:
        qualifier = first.table.lower()
        if not qualifier or qualifier in names:
            return True
    for column in condition.find_all(exp.Column):
        if column.name.upper() in _ROW_COUNTERS and not column.table:
            continue  # Oracle's ROWNUM counts rows returned, as LIMIT does; it names none of them
        qualifier = column.table.lower()
        if qualifier:
            # Inside a subquery that reads the target again under its own name, ``t.id`` is
            # that inner read's column, not the row being changed.
            if qualifier in names and not _bound_inside(column, condition, qualifier):
                return True
            continue
        if not _inside_subquery(column, condition):
            return True
    return False


# Pseudo-columns that number the rows as they come, not the rows' own values.
_ROW_COUNTERS = frozenset({"ROWNUM"})


def _inside_subquery(node: exp.Expression, root: exp.Expression) -> bool:
    parent = node.parent
    while parent is not None and parent is not root:
        if isinstance(parent, (exp.Select, exp.Subquery, exp.SetOperation)):
            return True
        parent = parent.parent
    return False


def _bound_inside(node: exp.Expression, root: exp.Expression, qualifier: str) -> bool:
    """Whether a SELECT between ``node`` and ``root`` reads a table it calls ``qualifier``."""
    parent = node.parent
    while parent is not None and parent is not root:
        if type(parent) is exp.Select and qualifier in _source_names(parent):
            return True
        parent = parent.parent
    return False


def _source_names(select: exp.Select) -> set[str]:
    """Lower-cased names the tables of a SELECT's FROM and JOINs go by (alias, else name)."""
    names: set[str] = set()
    from_ = select.args.get("from_")
    sources = [from_.this] if from_ is not None else []
    sources.extend(join.this for join in select.args.get("joins") or ())
    for source in sources:
        alias = source.alias
        if alias:
            names.add(alias.lower())
        elif isinstance(source, exp.Table) and source.name:
            names.add(source.name.lower())
    return names


def _fold(condition: exp.Expression) -> exp.Expression:
    try:
        return simplify(condition.copy())
    except (RecursionError, SqlglotError, ValueError, TypeError, KeyError, AttributeError):
        return condition


def always_true(condition: exp.Expression) -> bool:
    """Whether a predicate holds for every row once constants are folded.

    Example:
        >>> import sqlglot
        >>> always_true(sqlglot.parse_one("x = 5 OR 2 > 1"))
        True
    """
    return _truth(condition) is True


def never_true(condition: exp.Expression) -> bool:
    """Whether a predicate holds for no row once constants are folded (``1 = 2``)."""
    return _truth(condition) is False


_REFLEXIVE = (exp.EQ, exp.GTE, exp.LTE)
_EQUALITY = (exp.EQ, exp.NEQ)
_COMPARE = {
    exp.EQ: lambda a, b: a == b,
    exp.NEQ: lambda a, b: a != b,
    exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b,
    exp.LT: lambda a, b: a < b,
    exp.LTE: lambda a, b: a <= b,
}


def _truth(node: exp.Expression, own: str | None = None) -> bool | None:
    """True or False when the predicate's value does not depend on the row, else None.

    Plain boolean logic and literal comparisons are decided here; a column-free part that is
    still undecided (``1 + 1 = 2``) is handed to sqlglot's simplifier. A test that holds for
    every row where its column is not null (``x = x``, ``x > 0 OR x <= 0``) counts as true.
    ``own`` is the lower-cased name of the table being changed, when known: a subquery that
    reads that table back (``id IN (SELECT id FROM t)``) selects every row.
    """
    # Comparisons come first: they are most predicates, and none is any of the types below.
    compare = _COMPARE.get(type(node))
    if compare is not None:
        left, right = _unwrapped(node.this), _unwrapped(node.expression)
        if isinstance(left, exp.Column):
            # x = x holds on every row where x is not null, x <> x on none; any other test of a
            # column depends on the row.
            if type(right) is exp.Literal:
                return None
            if type(right) is exp.Any and type(node) is exp.EQ:
                listed = _unwrapped(right.this)
                if type(listed) is exp.Array:  # x = ANY(ARRAY[x, ...]) is x IN (x, ...)
                    return True if any(_same_value(left, value) for value in listed.expressions) else None
                return True if own and isinstance(listed, exp.Subquery) and _reads_back(node, own) else None
            if _same_value(left, right):
                return type(node) in _REFLEXIVE
            return None
        if isinstance(right, exp.Column):
            return True if type(node) in _REFLEXIVE and _same_value(left, right) else None
        a, b = _constant(left), _constant(right)
        if a is not None and b is not None and type(a) is type(b):
            if type(a) is str and a != b and (type(node) not in _EQUALITY or _folded(a) == _folded(b)):
                return None  # how two different strings compare depends on the collation
            return bool(compare(a, b))
        if type(node) in _REFLEXIVE and _same_value(left, right):
            return True  # LOWER(x) = LOWER(x)
        bounded = _against_bound(type(node), node.this, node.expression)
        if bounded is not None:
            return bounded
    elif isinstance(node, exp.Paren):
        return _truth(node.this, own)
    elif isinstance(node, exp.Boolean):
        return bool(node.this)
    elif isinstance(node, exp.Literal):
        return None if node.is_string else _number(node) not in (None, 0.0) if _number(node) is not None else None
    elif isinstance(node, exp.Not):
        inner = _truth(node.this, own)
        return None if inner is None else not inner
    elif isinstance(node, exp.Or):
        # The whole chain at once: judging ``a OR b OR c`` node by node would judge ``a``
        # again at every level, and compare every pair of branches at each.
        branches = _disjuncts(node)
        truths = [_truth(branch, own) for branch in branches]
        if True in truths or _covers_every_row(branches):
            return True
        return False if all(truth is False for truth in truths) else None
    elif isinstance(node, exp.And):
        left_truth, right_truth = _truth(node.this, own), _truth(node.expression, own)
        if left_truth is False or right_truth is False:
            return False
        return True if left_truth is True and right_truth is True else None
    elif isinstance(node, exp.In):
        if node.args.get("query"):
            return True if own and _reads_back(node, own) else None
        if any(type(v) is not exp.Literal and _same_value(node.this, v) for v in node.expressions):
            return True  # x IN (x, ...)
        value = _constant(node.this)
        values = [_constant(v) for v in node.expressions]
        if value is not None and values and all(type(v) is type(value) for v in values):
            if value in values:
                return True
            if type(value) is str and any(_folded(v) == _folded(value) for v in values):
                return None  # equal under a lenient collation
            return False
    elif isinstance(node, exp.Is) and isinstance(node.this, exp.Literal) and isinstance(node.expression, exp.Null):
        # A literal is never null; sqlglot keeps IS NOT NULL as Is(negate=True).
        return bool(node.args.get("negate"))
    elif isinstance(node, exp.NullSafeEQ):
        # x IS NOT DISTINCT FROM x holds on every row, nulls included.
        if _same_value(_unwrapped(node.this), _unwrapped(node.expression)):
            return True
    elif isinstance(node, exp.Between):
        subject = _unwrapped(node.this)
        if _same_value(subject, _unwrapped(node.args.get("low"))) and _same_value(subject, _unwrapped(node.args.get("high"))):
            return True  # x BETWEEN x AND x
    elif isinstance(node, (exp.Like, exp.ILike, exp.SimilarTo)):
        pattern = node.expression
        matches_all = isinstance(pattern, exp.Literal) and pattern.is_string and pattern.this and not pattern.this.strip("%")
        if matches_all and node.this.find(exp.Column) is not None:
            # x LIKE '%' matches every value that is not null; NOT LIKE '%' matches none.
            return not node.args.get("negate")
    elif isinstance(node, exp.Escape) and isinstance(node.this, (exp.Like, exp.ILike)):
        escape = node.expression
        if isinstance(escape, exp.Literal) and escape.this != "%":
            return _truth(node.this, own)  # an escape character only matters where the pattern uses it
    elif isinstance(node, exp.RegexpLike):
        pattern = node.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string and pattern.this in _ANY_TEXT and node.this.find(exp.Column) is not None:
            return True  # x ~ '.*' matches every value that is not null (but a newline, in some engines)
    elif isinstance(node, exp.Exists) and own and _reads_back(node, own):
        return True
    elif isinstance(node, (exp.Case, exp.If)):
        # Every branch true (``CASE WHEN a THEN TRUE ELSE TRUE END``), or every branch false; a
        # CASE without ELSE gives NULL where no branch matches, which holds on no row.
        truths = [False if value is None else _truth(value, own) for value in _outcomes(node)]
        if all(truth is True for truth in truths):
            return True
        if all(truth is False for truth in truths):
            return False
    if _maybe_constant(node) and node.find(exp.Column, exp.Placeholder, exp.Parameter, exp.Subquery) is None:
        folded = _fold(node)
        if isinstance(folded, exp.Boolean):
            # sqlglot folds string comparisons exactly; under a lenient collation one it calls
            # false may hold ('a' = UPPER('a')), so only a true one is taken.
            if folded.this or not any(literal.is_string for literal in node.find_all(exp.Literal)):
                return bool(folded.this)
    return None


def _against_bound(kind: type[exp.Expression], left: exp.Expression, right: exp.Expression) -> bool | None:
    """A comparison with a number of a value that never crosses a bound of its own.

    ``LENGTH(s) >= 0``, ``ABS(x) > -1`` and ``GREATEST(x, 1) > 0`` hold on every row where the
    value is not null (as ``x = x`` does); ``LEAST(x, 5) > 9`` holds on none. Any other
    comparison depends on the row.
    """
    for value, number, operator in ((left, right, kind), (right, left, _FLIPPED[kind])):
        bound = _constant(number)
        if type(bound) is not float:
            continue
        low, high = _range_of(_bare(value))
        verdict = _ABOVE[operator](low, bound) if low is not None else None
        if verdict is None and high is not None:
            verdict = _BELOW[operator](high, bound)
        if verdict is not None:
            return verdict
    return None


def _range_of(node: object) -> tuple[float | None, float | None]:
    """The least and greatest value an expression can take on any row (None: no such bound)."""
    kind = type(node)
    if kind in _NEVER_NEGATIVE or (kind is exp.Anonymous and node.name.upper() in _NEVER_NEGATIVE_NAMES):  # type: ignore[attr-defined]
        return 0.0, None
    if kind is exp.Greatest or kind is exp.Least:
        numbers = [n for n in map(_constant, [node.this, *node.expressions]) if type(n) is float]  # type: ignore[attr-defined]
        if numbers:
            return (max(numbers), None) if kind is exp.Greatest else (None, min(numbers))
    return None, None


# Functions whose value is never below 0 wherever it is not null (EXP can round to 0).
_NEVER_NEGATIVE = frozenset({exp.Length, exp.ByteLength, exp.Abs, exp.Exp})
# The same functions where sqlglot keeps them as plain calls in some dialects.
_NEVER_NEGATIVE_NAMES = frozenset(
    {"LENGTH", "LEN", "CHAR_LENGTH", "CHARACTER_LENGTH", "OCTET_LENGTH", "BIT_LENGTH", "DATALENGTH", "ABS", "EXP"}
)
# What comparing a value with a number c says on every row, given the least value it takes
# (_ABOVE) or the greatest (_BELOW): true, false, or None when that depends on the row.
_Verdict = Callable[[float, float], "bool | None"]
_ABOVE: dict[type[exp.Expression], _Verdict] = {
    exp.GTE: lambda low, c: True if low >= c else None,
    exp.GT: lambda low, c: True if low > c else None,
    exp.LT: lambda low, c: False if low >= c else None,
    exp.LTE: lambda low, c: False if low > c else None,
    exp.EQ: lambda low, c: False if low > c else None,
    exp.NEQ: lambda low, c: True if low > c else None,
}
_BELOW: dict[type[exp.Expression], _Verdict] = {
    exp.LTE: lambda high, c: True if high <= c else None,
    exp.LT: lambda high, c: True if high < c else None,
    exp.GT: lambda high, c: False if high <= c else None,
    exp.GTE: lambda high, c: False if high < c else None,
    exp.EQ: lambda high, c: False if high < c else None,
    exp.NEQ: lambda high, c: True if high < c else None,
}
# Regular expressions that match any text: taken as matching every value, failing closed where
# an engine's full-match rules make '' or '.*' miss some (an empty string, a newline).
_ANY_TEXT = frozenset({"", ".*", "^.*", ".*$", "^.*$", "^", "$", "(.*)", "^(.*)$"})
# Comparisons that together hold for every value that is not null: ``x > 5 OR x <= 5``.
_COMPLEMENTS = {
    exp.GT: exp.LTE, exp.LTE: exp.GT, exp.LT: exp.GTE, exp.GTE: exp.LT, exp.EQ: exp.NEQ, exp.NEQ: exp.EQ,
}
_FLIPPED: dict[type[exp.Expression], type[exp.Expression]] = {exp.GT: exp.LT, exp.LT: exp.GT, exp.GTE: exp.LTE, exp.LTE: exp.GTE, exp.EQ: exp.EQ, exp.NEQ: exp.NEQ}


def _disjuncts(node: exp.Or) -> list[exp.Expression]:
    """The branches of an OR chain, however it is nested and parenthesised, in order."""
    branches: list[exp.Expression] = []
    pending: list[exp.Expression] = [node]
    while pending:
        item = _unwrapped(pending.pop())
        if type(item) is exp.Or:
            pending.extend((item.expression, item.this))
        else:
            branches.append(item)  # type: ignore[arg-type]
    return branches


def _covers_every_row(branches: list[exp.Expression]) -> bool:
    """Whether branches of an OR chain together admit every row: ``c IS NULL OR c IS NOT NULL``,
    ``p OR NOT p``, a comparison and its complement (``x > 5 OR x <= 5``), or comparisons of one
    column that leave no number out.

    Each branch is reduced to a canonical shape once and looked up, so a chain of thousands of
    branches costs what it holds, not the square of it.
    """
    if len(branches) < 2:
        return False
    seen: set[object] = set()
    tests: list[tuple[object, object]] = []  # (what the branch holds, what would complete it)
    for branch in branches:
        null_test = _null_test(branch)
        kind = type(branch)
        if kind is exp.Not and type(_unwrapped(branch.this)) in _COMPLEMENTS:
            # NOT x = 5 is x <> 5 wherever x is not null.
            branch = _unwrapped(branch.this)  # type: ignore[assignment]
            kind = _COMPLEMENTS[type(branch)]
        if null_test is not None:
            column, negated = null_test
            mine, other = ("null", _shape(column), negated), ("null", _shape(column), not negated)
        elif kind is exp.Not:
            mine, other = ("not", _shape(_unwrapped(branch.this))), _shape(_unwrapped(branch.this))
        elif kind in _COMPLEMENTS:
            left, right = _shape(_unwrapped(branch.this)), _shape(_unwrapped(branch.expression))
            wanted = _COMPLEMENTS[kind]
            mine = ("compare", left, kind, right)
            # ``x > 5 OR x <= 5``, or the same complement written the other way round (``5 >= x``).
            tests.append((mine, ("compare", right, _FLIPPED[wanted], left)))
            other = ("compare", left, wanted, right)
        else:
            mine, other = _shape(branch), ("not", _shape(branch))
        tests.append((mine, other))
        seen.add(mine)
    if any(other in seen for _, other in tests):
        return True
    return _covers_every_number(branches)


class _Unique:
    """The shape of an expression that equals nothing, not even itself (RANDOM(), a subquery)."""


def _shape(node: object) -> object:
    """A hashable form of an operand: equal for two operands that are the same.

    Constants become their value (strings as a lenient collation compares them); expressions
    lose casts, parentheses, ``+ 0`` and ``* 1``, and unquoted names their case.
    """
    value = _constant(node)  # type: ignore[arg-type]
    if value is not None:
        return ("value", _folded(value) if type(value) is str else value)
    node = _bare(node)
    if isinstance(node, exp.Expression) and not isinstance(node, (exp.Column, exp.Literal)) and _changes_per_call(node):
        return _Unique()
    return _tree_shape(node)


def _tree_shape(node: object) -> object:
    if type(node) is exp.Identifier:
        return ("name", node.this if node.quoted else node.this.lower())  # type: ignore[attr-defined]
    if isinstance(node, exp.Expression):
        return (type(node), tuple((key, _tree_shape(value)) for key, value in node.args.items() if value not in (None, [], False)))
    if isinstance(node, list):
        return tuple(_tree_shape(item) for item in node)
    return node


# A comparison with a number as the range of values it admits: (low, low included, high, high included).
_RANGES = {
    exp.GT: lambda c: [(c, False, _INF, False)],
    exp.GTE: lambda c: [(c, True, _INF, False)],
    exp.LT: lambda c: [(-_INF, False, c, False)],
    exp.LTE: lambda c: [(-_INF, False, c, True)],
    exp.EQ: lambda c: [(c, True, c, True)],
    exp.NEQ: lambda c: [(-_INF, False, c, False), (c, False, _INF, False)],
}
_INF = float("inf")


def _covers_every_number(branches: list[exp.Expression]) -> bool:
    """Whether comparisons of one operand with numbers leave no number out (``x > 0 OR x <= 1``)."""
    ranges: dict[str, list[tuple[float, bool, float, bool]]] = {}
    for branch in branches:
        kind = type(branch)
        if kind not in _RANGES and kind is not exp.Between:
            continue
        subject, bound = _unwrapped(branch.this), _unwrapped(branch.args.get("expression"))
        if kind is exp.Between:
            low, high = _constant(branch.args.get("low")), _constant(branch.args.get("high"))
            if type(subject) is exp.Column and type(low) is float and type(high) is float:
                ranges.setdefault(_column_text(subject), []).append((low, True, high, True))
            continue
        value = _constant(bound)  # type: ignore[arg-type]
        if type(subject) is not exp.Column:
            subject, value, kind = bound, _constant(subject), _FLIPPED[kind]  # type: ignore[arg-type]
        if type(subject) is exp.Column and type(value) is float:
            ranges.setdefault(_column_text(subject), []).extend(_RANGES[kind](value))
    return any(_covers_line(found) for found in ranges.values() if len(found) > 1)


def _column_text(column: exp.Column) -> str:
    return ".".join(part.name if part.quoted else part.name.lower() for part in column.parts)  # type: ignore[attr-defined]


def _covers_line(ranges: list[tuple[float, bool, float, bool]]) -> bool:
    """Whether the union of the ranges is every number."""
    reach, reached = -_INF, False  # covered so far: up to ``reach``, including it when ``reached``
    for low, low_in, high, high_in in sorted(ranges, key=lambda r: (r[0], not r[1])):
        if low > reach or (low == reach and not low_in and not reached and low != -_INF):
            return False  # a gap before this range
        if high > reach or (high == reach and high_in):
            reach, reached = high, high_in
    return reach == _INF


def _reads_back(node: exp.In | exp.Exists | exp.EQ, own: str) -> bool:
    """Whether an IN, ``= ANY`` or EXISTS subquery matches every row of the table being changed.

    ``id IN (SELECT id FROM t)``, ``id = ANY (SELECT id FROM t)`` and ``EXISTS (SELECT 1 FROM t
    AS u WHERE u.id = t.id)`` against ``t`` itself, with nothing else restricting the
    subquery, hold for every row whose key is not null.
    """
    if isinstance(node, exp.EQ):  # id = ANY (SELECT ...), read as id IN (SELECT ...)
        node = exp.In(this=node.this, query=node.expression.this)
    query = node.args.get("query") if isinstance(node, exp.In) else node.this
    if isinstance(query, exp.Subquery):
        query = query.this
    if type(query) is not exp.Select or any(value for key, value in query.args.items() if key not in _PLAIN_SELECT):
        return False
    args = query.args
    if args.get("joins") or args.get("laterals") or args.get("from_") is None:
        return False
    source = args["from_"].this
    if not isinstance(source, exp.Table) or not _same_table(table_name(source), own):
        return False
    if isinstance(node, exp.In):
        if any(args.get(key) for key in _RESTRICTING):
            return False
        subject = _unwrapped(node.this)
        wanted = subject.expressions if isinstance(subject, exp.Tuple) else [subject]
        picked = [item.this if isinstance(item, exp.Alias) else item for item in query.expressions]
        return len(wanted) == len(picked) and all(
            isinstance(mine, exp.Column) and isinstance(theirs, exp.Column) and mine.name.lower() == theirs.name.lower()
            for mine, theirs in zip(wanted, picked)
        )
    if any(args.get(key) for key in _RESTRICTING if key != "where"):
        return False
    where = args.get("where")
    if where is None:
        return False  # EXISTS (SELECT 1 FROM t): not about the target's columns at all
    inner = {source.alias.lower() if source.alias else source.name.lower()}
    return _pairs_keys(where.this, inner)


def _pairs_keys(condition: exp.Expression, inner: set[str], outer: set[str] | None = None) -> bool:
    """Whether a condition is only ``u.c = t.c`` equalities (ANDed), pairing a column of the
    table called ``inner`` with the same column of the outer row (of a table called ``outer``,
    when given)."""
    condition = _unwrapped(condition)
    if type(condition) is exp.And:
        return _pairs_keys(condition.this, inner, outer) and _pairs_keys(condition.expression, inner, outer)
    if type(condition) is not exp.EQ:
        return False
    left, right = _unwrapped(condition.this), _unwrapped(condition.expression)
    if type(left) is not exp.Column or type(right) is not exp.Column or left.name.lower() != right.name.lower():
        return False
    qualifiers = (left.table.lower(), right.table.lower())
    if not all(qualifiers):
        return False
    if outer is not None:
        return set(qualifiers) <= inner | outer and (qualifiers[0] in inner) != (qualifiers[1] in inner)
    return (qualifiers[0] in inner) != (qualifiers[1] in inner)


# What a SELECT may hold and still return every row of its table.
_PLAIN_SELECT = frozenset({"expressions", "from_", "where", "distinct", "kind", "hint", "comments", "order"})
_RESTRICTING = ("where", "group", "having", "qualify", "limit", "offset", "fetch", "sample", "prewhere")


def _same_table(name: str | None, own: str) -> bool:
    """Whether a table name may be the target's: the same name, with or without a schema."""
    if not name:
        return False
    name = name.lower()
    if name == own:
        return True
    short, other = name.rsplit(".", 1)[-1], own.rsplit(".", 1)[-1]
    return short == other and ("." not in name or "." not in own)


# Functions that return a new value on each call: f(x) = f(x) need not hold.
_VOLATILE = (exp.Rand, exp.Randn, exp.Uuid)
_VOLATILE_NAMES = frozenset({"RANDOM", "RAND", "NEWID", "UUID", "GEN_RANDOM_UUID", "UUID_STRING", "RANDOM_UUID", "NEWSEQUENTIALID"})


def _bare(node: object) -> object:
    """An operand without what cannot change which value it is: parentheses, casts, ``+ 0``, ``* 1``."""
    while True:
        if isinstance(node, (exp.Paren, exp.Cast, exp.TryCast)):
            node = node.this
        elif (isinstance(node, (exp.Add, exp.Sub)) and _constant(node.expression) == 0) or (
            isinstance(node, (exp.Mul, exp.Div)) and _constant(node.expression) == 1
        ):
            node = node.this
        elif isinstance(node, exp.Add) and _constant(node.this) == 0:
            node = node.expression
        elif isinstance(node, exp.Mul) and _constant(node.this) == 1:
            node = node.expression
        else:
            return node


def _same_value(left: object, right: object) -> bool:
    """Whether two operands are the same expression of the row (``id`` and ``id::int``,
    ``LOWER(email)`` twice), so a reflexive comparison of them holds wherever they are not null."""
    left, right = _bare(left), _bare(right)
    if type(left) is exp.Column:
        return _same_column(left, right)
    if type(left) is not type(right) or not isinstance(left, exp.Expression) or isinstance(left, exp.Literal):
        return False
    if left.find(exp.Column) is None or _changes_per_call(left):
        return False
    return _same_tree(left, right)


def _changes_per_call(node: exp.Expression) -> bool:
    """Whether an expression may differ between two evaluations on one row: it calls a random or
    UUID function, or holds a subquery."""
    if node.find(*_VOLATILE, exp.Subquery, exp.Select) is not None:
        return True
    return any(call.name.upper() in _VOLATILE_NAMES for call in node.find_all(exp.Anonymous))


def _same_tree(left: object, right: object) -> bool:
    if type(left) is not type(right):
        return False
    if type(left) is exp.Identifier:
        return _same_name(left, right)  # type: ignore[arg-type]
    if type(left) is exp.Column:
        return _same_column(left, right)  # type: ignore[arg-type]
    if isinstance(left, exp.Expression):
        mine, theirs = left.args, right.args  # type: ignore[union-attr]
        keys = {key for key, value in mine.items() if value not in (None, [], False)}
        if keys != {key for key, value in theirs.items() if value not in (None, [], False)}:
            return False
        return all(_same_tree(mine[key], theirs[key]) for key in keys)
    if isinstance(left, list):
        return len(left) == len(right) and all(_same_tree(a, b) for a, b in zip(left, right))  # type: ignore[arg-type]
    return left == right


def _unwrapped(node: object) -> object:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _null_test(node: object) -> tuple[object, bool] | None:
    """(column, is it IS NOT NULL) for ``c IS NULL``, ``c IS NOT NULL`` or ``NOT c IS NULL``."""
    node = _unwrapped(node)
    negated = False
    if isinstance(node, exp.Not):
        node, negated = _unwrapped(node.this), True
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null) and isinstance(node.this, exp.Column):
        return node.this, negated != bool(node.args.get("negate"))
    return None


def _same_column(left: exp.Column, right: object) -> bool:
    """Whether two column references name the same column, as the warehouse resolves them.

    Names compare without regard to case unless both are quoted (``orders.ID`` and
    ``Orders.id``, ``"ID"`` and ``id`` can be one column); two quoted names match on the same text.
    """
    if type(right) is not exp.Column:
        return False
    mine, theirs = left.parts, right.parts
    return len(mine) == len(theirs) and all(_same_name(a, b) for a, b in zip(mine, theirs))


def _same_name(a: exp.Expression, b: exp.Expression) -> bool:
    if type(a) is not exp.Identifier or type(b) is not exp.Identifier:
        return a == b  # ``*`` and other non-names: sqlglot's own comparison
    if a.this == b.this:
        return True
    # An unquoted name is folded to one case (upper in Snowflake and Oracle, lower in Postgres),
    # and T-SQL, MySQL and BigQuery ignore case in column names quoted or not: "ID" and id can be
    # one column, so they are taken as one.
    return (not a.quoted or not b.quoted) and a.this.lower() == b.this.lower()


def _maybe_constant(node: exp.Expression) -> bool:
    """A cheap first test before looking for columns: a predicate on a column is not constant."""
    if isinstance(node, (exp.Column, exp.Literal)):
        return False
    return not isinstance(node.this, exp.Column) and not isinstance(node.args.get("expression"), exp.Column)


def _folded(text: str) -> str:
    """A string as the most lenient common collations compare it.

    MySQL's and SQL Server's defaults ignore case and trailing spaces, and MySQL's ignores
    accents, so ``'a' = 'A '`` and ``'e' = 'é'`` hold there. Two strings that still differ
    here differ under every collation trustladder assumes.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold().rstrip(" ")


def _outcomes(node: exp.Case | exp.If) -> list[exp.Expression | None]:
    """The values a CASE or IF can give: each THEN, then the ELSE (None when there is none)."""
    if isinstance(node, exp.Case):
        return [branch.args.get("true") for branch in node.args.get("ifs") or ()] + [node.args.get("default")]
    return [node.args.get("true"), node.args.get("false")]


def _number(node: exp.Literal) -> float | None:
    try:
        return float(node.this)
    except ValueError:
        return None


def _constant(node: exp.Expression | None) -> float | str | None:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, (exp.Case, exp.If)):
        # The same value whichever branch is taken (``IIF(x > 0, 1, 1)``); no ELSE gives NULL.
        values = {None if value is None else _constant(value) for value in _outcomes(node)}
        return values.pop() if len(values) == 1 else None
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        value = _number(node.this)
        return -value if value is not None else None
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else _number(node)
    return None

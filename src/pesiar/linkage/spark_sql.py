"""DuckDB SQL to Spark SQL: the map's statements as written for DuckDB, run on Spark.

sqlglot translates what the two dialects share a meaning for. The rest is rewritten here on
the parsed tree, one rule per construct, so the SQL of the pipeline is written once:

- string similarity: DuckDB's `jaro_winkler_similarity` and `damerau_levenshtein` become the
  Java functions shipped with Splink (`jaro_winkler`, `damerau_levenshtein`), registered on
  the session; `hamming` is counted over the positions of the two strings;
- list functions with no Spark name (`list_has_all`, `list_reduce`, `list_count`,
  `list_bool_or`, `len` of a list) become Spark's array functions;
- `date_diff('year' | 'day', a, b)` keeps DuckDB's meaning (year boundaries crossed, days),
  where Spark's three-argument DATEDIFF counts whole years;
- a regular expression replacement's group reference `\\1` becomes Java's `$1`;
- `read_parquet(path)` becomes a view over the file (registered by the caller), so that
  `* REPLACE (...)` and `UNION ALL BY NAME`, which Spark SQL lacks, are expanded to columns.

DuckDB's `regexp_replace` without the 'g' flag replaces the first match only, Spark's every
match: the map's patterns without 'g' are anchored (^...$), where the two agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp

# Columns of a registered view, by name (for expanding stars).
Columns = Callable[[str], list[str]]
# Registers a Parquet file (or folder) as a view and returns the view's name.
ParquetView = Callable[[str], str]


def parse(sql: str) -> list[exp.Expression]:
    """The statements of a DuckDB SQL text."""
    return [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]


def spark_sql(tree: exp.Expression, parquet: ParquetView, columns: Columns) -> str:
    """One statement (a parsed DuckDB tree) as Spark SQL text."""
    return to_spark(tree, parquet, columns).sql(dialect="spark")


def to_spark(tree: exp.Expression, parquet: ParquetView, columns: Columns) -> exp.Expression:
    """The tree rewritten where Spark's meaning differs; sqlglot then writes the rest."""
    tree = tree.copy()
    for table in list(tree.find_all(exp.Table)):
        if isinstance(table.this, exp.ReadParquet):
            path = table.this.expressions[0].name
            table.replace(exp.to_table(parquet(path)))
    tree = _rewrite(tree)
    for union in list(tree.find_all(exp.Union)):
        if union.args.get("by_name"):
            _align_by_name(union, columns)
    for select in list(tree.find_all(exp.Select)):
        _expand_star(select, columns)
    return tree


def duckdb_expression(sql: str) -> str:
    """A DuckDB SQL expression (e.g. a Splink comparison level) as a Spark SQL expression."""
    tree = _rewrite(sqlglot.parse_one(f"SELECT {sql}", read="duckdb"))
    return tree.expressions[0].sql(dialect="spark")


def _rewrite(tree: exp.Expression) -> exp.Expression:
    """Every node through `_function`, the innermost first (so that a rewritten call's
    arguments are rewritten already)."""
    for node in reversed(list(tree.walk(bfs=False))):
        new = _function(node)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    return tree


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _spark(text: str) -> exp.Expression:
    return sqlglot.parse_one(text, read="spark")


def _function(node: exp.Expression) -> exp.Expression:
    """One node rewritten to its Spark meaning (or returned as it is)."""
    if isinstance(node, exp.JarowinklerSimilarity):
        return _call("jaro_winkler", node.this, node.expression)
    if isinstance(node, exp.Length) and isinstance(node.this, exp.Split | exp.Array):
        return exp.ArraySize(this=node.this)
    if isinstance(node, exp.DateDiff):
        return _date_diff(node)
    if isinstance(node, exp.RegexpReplace):
        replacement = node.args.get("replacement")
        if isinstance(replacement, exp.Literal) and "\\" in replacement.this:
            text = re.sub(r"\\(\d)", r"$\1", replacement.this)
            node.set("replacement", exp.Literal.string(text))
        return node
    if isinstance(node, exp.Anonymous):
        rewrite = _ANONYMOUS.get(node.name.lower())
        if rewrite is not None:
            return rewrite(*node.expressions)
    return node


def _date_diff(node: exp.DateDiff) -> exp.Expression:
    unit = (node.text("unit") or "day").lower()
    end, start = node.this, node.expression
    if unit == "year":
        return exp.Sub(this=exp.Year(this=end), expression=exp.Year(this=start))
    if unit == "day":
        return _call("datediff", end, start)
    raise ValueError(f"date_diff by {unit!r} has no Spark translation here")


def _hamming(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    """Positions at which two strings of equal length differ."""
    return _spark(
        f"size(filter(sequence(1, length({a.sql('spark')})), "
        f"i -> substring({a.sql('spark')}, i, 1) <> substring({b.sql('spark')}, i, 1)))"
    )


def _has_all(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    """DuckDB list_has_all(a, b): every element of b is in a."""
    return _spark(f"size(array_except({b.sql('spark')}, {a.sql('spark')})) = 0")


def _reduce(array: exp.Expression, function: exp.Expression) -> exp.Expression:
    """DuckDB list_reduce: the first element is the start value."""
    a = array.sql("spark")
    return _call(
        "aggregate",
        _spark(f"slice({a}, 2, greatest(size({a}) - 1, 0))"),
        _spark(f"element_at({a}, 1)"),
        function,
    )


_ANONYMOUS: dict[str, Callable[..., exp.Expression]] = {
    "damerau_levenshtein": lambda a, b: _call("damerau_levenshtein", a, b),
    "hamming": _hamming,
    "list_has_all": _has_all,
    "list_reduce": _reduce,
    "list_count": lambda a: exp.ArraySize(this=a),
    "list_bool_or": lambda a: _spark(f"exists({a.sql('spark')}, v -> v)"),
}


def _expand_star(select: exp.Select, columns: Columns, every: bool = False) -> None:
    """`SELECT * REPLACE (...) FROM view` (or, with `every`, any `SELECT * FROM view`) as the
    view's columns, replaced where asked."""
    stars = [
        e
        for e in select.expressions
        if isinstance(e, exp.Star) and (every or e.args.get("replace"))
    ]
    if not stars:
        return
    source = select.args["from_"].this
    if not isinstance(source, exp.Table) or select.args.get("joins"):
        raise ValueError("a star is expanded over a single table only")
    replaced = {alias.alias: alias for alias in stars[0].args.get("replace") or []}
    expanded: list[exp.Expression] = []
    for e in select.expressions:
        if e is stars[0]:
            expanded += [
                replaced.get(c) or exp.column(c, quoted=True) for c in columns(source.name)
            ]
        else:
            expanded.append(e)
    select.set("expressions", expanded)


def _selects(side: exp.Expression) -> list[exp.Select]:
    if isinstance(side, exp.Union):
        return _selects(side.this) + _selects(side.expression)
    if isinstance(side, exp.Subquery):
        return _selects(side.this)
    if not isinstance(side, exp.Select):
        raise ValueError("UNION BY NAME is translated between plain SELECTs only")
    return [side]


def _align_by_name(union: exp.Union, columns: Columns) -> None:
    """Every side with the same columns in the same order, NULL where a side has none."""
    selects = _selects(union)
    for select in selects:
        _expand_star(select, columns, every=True)
    order = list(dict.fromkeys(e.alias_or_name for s in selects for e in s.expressions))
    for select in selects:
        by_name = {e.alias_or_name: e for e in select.expressions}
        select.set(
            "expressions",
            [by_name.get(n) or exp.alias_(exp.null(), n, quoted=True) for n in order],
        )
    for inner in [union, *union.find_all(exp.Union)]:
        inner.set("by_name", None)

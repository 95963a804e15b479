"""Row validation in SQL (DuckDB): each source value becomes a typed canonical value and a
list of problems {code, column, severity, message}; a row with an error is rejected.

Each column's SQL comes from `columns.COLUMN_SQL` (one function per type, built from the
parts in `checks`); here the columns of a register are stacked level by level into the
statements that check every row of a file.
"""

from datetime import date

from pesiar.registers.checks import ERROR, WARNING, Check, Problem
from pesiar.registers.columns import column_sql
from pesiar.registers.schema import REGISTERS, Column, Kind, Type


def _plan(
    kind: Kind,
    sources: dict[str, tuple[str, str]],
    as_of: date,
    date_formats: dict[str, str] | None = None,
) -> tuple[list, dict[int, list[str]], list[Problem]]:
    register = REGISTERS[kind]
    present = [c for c in register.columns if c.name in sources]
    helpers = {name: f"t_{name}" for name in ("sex", "birth_date") if name in sources}
    levels: dict[int, list[str]] = {}
    found: list[Problem] = []
    for column in present:
        source, header = sources[column.name]
        check = Check(column, header, as_of)
        check.date_format = (date_formats or {}).get(column.name, check.date_format)
        column_sql(check, source, helpers)
        for level, alias, expression in check.inter:
            levels.setdefault(level, []).append(f"{expression} AS {alias}")
        found.extend(check.problems)
    return present, levels, found


def _stack(sql: str, levels: dict[int, list[str]]) -> str:
    """Each level its own SELECT over the one below."""
    for level in sorted(levels):
        sql = f"SELECT *, {', '.join(levels[level])} FROM ({sql})"
    return sql


def _outputs(kind: Kind, sources, present, found, messages: bool) -> tuple[str, list[str]]:
    """The flags SELECT list, and the typed columns and problem lists."""
    register = REGISTERS[kind]
    flags = {id(p): f"flag_{i}" for i, p in enumerate(found)}
    conditions = ", ".join(f"coalesce({p.condition}, false) AS {flags[id(p)]}" for p in found)
    typed = [f"t_{c.name} AS {c.name}" for c in present]
    typed += [f"NULL::{sql_type(c)} AS {c.name}" for c in register.columns if c.name not in sources]
    if messages:
        lists = [
            "list_filter(["
            + ", ".join(p.struct_sql(flags[id(p)]) for p in found)
            + "], lambda p: p IS NOT NULL) AS problems"
        ]
    else:
        # Most rows have no problem: build the lists only for the rows that do.
        lists = []
        for severity, name in ((ERROR, "errors"), (WARNING, "warnings")):
            mine = [p for p in found if p.severity == severity]
            if not mine:
                lists.append(f"[]::VARCHAR[] AS {name}")
                continue
            any_problem = " OR ".join(flags[id(p)] for p in mine)
            codes = ", ".join(p.code_sql(flags[id(p)]) for p in mine)
            lists.append(
                f"CASE WHEN {any_problem} THEN list_filter([{codes}]::VARCHAR[], "
                f"lambda p: p IS NOT NULL) ELSE []::VARCHAR[] END AS {name}"
            )
    return conditions, typed + lists


def checked_sql(
    kind: Kind,
    sources: dict[str, tuple[str, str]],
    raw_columns: list[str],
    as_of: date,
    relation: str = "raw",
) -> str:
    """SELECT over `relation` (columns k and the raw columns c0..cN) giving k, the raw
    columns, each canonical typed column, and `problems`: a list of structs
    {code, column, severity, message}. For the few rows that are rejected."""
    present, levels, found = _plan(kind, sources, as_of)
    sql = _stack(f"SELECT k, {', '.join(raw_columns)} FROM {relation}", levels)
    conditions, outputs = _outputs(kind, sources, present, found, messages=True)
    if conditions:
        sql = f"SELECT *, {conditions} FROM ({sql})"
    return f"SELECT {', '.join(['k', *raw_columns, *outputs])} FROM ({sql})"


def checked_table(
    kind: Kind,
    sources: dict[str, tuple[str, str]],
    raw_columns: list[str],
    as_of: date,
    relation: str,
    date_formats: dict[str, str] | None = None,
) -> str:
    """The statement that builds table `checked` (k, h: hash of the raw row, the typed
    columns, `errors` and `warnings`: lists of codes) for every row of `relation`, in one
    pass: no intermediate table, so that a large file is held in memory once (as `raw`)
    while it is checked."""
    present, levels, found = _plan(kind, sources, as_of, date_formats)
    cols = ", ".join(raw_columns)
    sql = _stack(f"SELECT k, hash({cols}) AS h, {cols} FROM {relation}", levels)
    conditions, outputs = _outputs(kind, sources, present, found, messages=False)
    if conditions:
        sql = f"SELECT *, {conditions} FROM ({sql})"
    return f"CREATE TEMP TABLE checked AS SELECT {', '.join(['k', 'h', *outputs])} FROM ({sql})"


def sql_type(column: Column) -> str:
    return {
        Type.DATE: "DATE",
        Type.CLASS: "INTEGER",
        Type.INTEGER: "BIGINT",
        Type.MONEY: "BIGINT",
        Type.DECILE: "TINYINT",
        Type.DECIMAL: "DOUBLE",
        Type.FLAG: "BOOLEAN",
    }.get(column.type, "VARCHAR")

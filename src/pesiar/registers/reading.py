"""Reading a prepared source into DuckDB: table `raw` with every column as text in file
order, the rows the CSV reader refused (with their line numbers), and the SQL that gives each
canonical column its source value (a format's own codes read first).
"""

import threading
from collections.abc import Callable

import duckdb

from pesiar.ops.duck import sql_path
from pesiar.registers.checks import q
from pesiar.registers.limits import check_rows
from pesiar.registers.sources import Mapping, Source

Progress = Callable[[str, float | None], None]
READER_ERRORS = {
    "TOO MANY COLUMNS": "ROW_TOO_MANY_COLUMNS",
    "MISSING COLUMNS": "ROW_MISSING_COLUMNS",
    "UNQUOTED VALUE": "ROW_UNQUOTED_VALUE",
    "LINE SIZE OVER MAXIMUM": "ROW_TOO_LONG",
    "INVALID UNICODE": "ROW_INVALID_UNICODE",
    "INVALID ENCODING": "ROW_INVALID_UNICODE",
}


def execute(
    con: duckdb.DuckDBPyConnection, sql: str, label: str, progress: Progress | None
) -> None:
    """Run one statement, reporting DuckDB's own progress estimate while it runs."""
    if progress is None:
        con.execute(sql)
        return
    error: list[BaseException] = []

    def run() -> None:
        try:
            con.execute(sql)
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
        fraction = con.query_progress()
        progress(label, fraction / 100 if fraction and fraction >= 0 else None)
    if error:
        raise error[0]
    progress(label, 1.0)


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_raw(con: duckdb.DuckDBPyConnection, source: Source, progress: Progress | None) -> str:
    """Table `raw` with the source's columns as text, in file order; returns the relation
    that gives each row its `k` (CSV: record number among the rows the reader accepted;
    XLSX: the sheet row; Parquet: the row number) and the raw columns c0..cN. Raises
    ImportLimitError for a file of more rows than PESIAR_MAX_ROWS."""
    names = [f"c{i}" for i in range(len(source.header))]
    if source.format == "parquet":
        cols = ", ".join(
            f"CAST({ident(h)} AS VARCHAR) AS {n}" for h, n in zip(source.header, names, strict=True)
        )
        reader = f"SELECT {cols} FROM read_parquet({sql_path(source.path)})"
    else:
        reader = f"SELECT * FROM {csv_reader(source, names)}"
    # A table keeps insertion (file) order, so rowid numbers the rows without a window,
    # which would read the file on one thread.
    execute(con, f"CREATE TEMP TABLE raw AS {reader}", "read", progress)
    check_rows(source.path, con.execute("SELECT count(*) FROM raw").fetchone()[0])
    if source.has_line_column:
        return f"(SELECT CAST(__line AS BIGINT) AS k, {', '.join(names)} FROM raw)"
    return f"(SELECT rowid + 1 AS k, {', '.join(names)} FROM raw)"


def csv_reader(source: Source, names: list[str]) -> str:
    all_names = (["__line"] if source.has_line_column else []) + names
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in all_names) + "}"
    delim = source.delimiter.replace("'", "''")
    return (
        f"read_csv({sql_path(source.path)}, delim = '{delim}', quote = '\"', escape = '\"', "
        f"header = true, auto_detect = false, columns = {columns}, store_rejects = true, "
        "strict_mode = true, null_padding = false, max_line_size = 1048576)"
    )


def collect_reader_rejects(con: duckdb.DuckDBPyConnection, source: Source) -> int:
    """Table `reader_rejects` (line, code, message, text) of the rows the CSV reader refused,
    and view `lined`: `checked` with each row's line number."""
    if source.format == "csv":
        cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in READER_ERRORS.items())
        # A rewritten file's records begin with their line in the original (`__line`).
        line = (
            "coalesce(TRY_CAST(split_part(first(csv_line), ',', 1) AS BIGINT), line)"
            if source.has_line_column
            else "line"
        )
        con.execute(
            f"""
            CREATE TEMP TABLE reader_rejects AS
            SELECT {line} AS line,
                   CASE first(error_type) {cases} ELSE 'ROW_MALFORMED' END AS code,
                   first(error_message) AS message, first(csv_line) AS text
            FROM reject_errors GROUP BY line
            """
        )
    else:
        con.execute(
            "CREATE TEMP TABLE reader_rejects "
            "(line BIGINT, code VARCHAR, message VARCHAR, text VARCHAR)"
        )
    rejected = con.execute("SELECT count(*) FROM reader_rejects").fetchone()[0]
    if source.format != "csv" or source.has_line_column:
        con.execute("CREATE TEMP VIEW lined AS SELECT *, k AS line FROM checked")
    elif rejected == 0:
        con.execute("CREATE TEMP VIEW lined AS SELECT *, k + 1 AS line FROM checked")
    else:
        # Records are numbered as the reader numbers rejected ones (header = line 1). The
        # k-th accepted record follows every rejected record i (1-based, at line r_i) with
        # r_i - i - 1 < k.
        con.execute(
            """
            CREATE TEMP TABLE steps AS
            SELECT g, max(i) AS before FROM (
                SELECT line - row_number() OVER (ORDER BY line) - 1 AS g,
                       row_number() OVER (ORDER BY line) AS i
                FROM reader_rejects
            ) GROUP BY g
            """
        )
        con.execute(
            """
            CREATE TEMP VIEW lined AS
            SELECT checked.*, checked.k + 1 + coalesce(steps.before, 0) AS line
            FROM checked ASOF LEFT JOIN steps ON checked.k > steps.g
            """
        )
    return rejected


def coded(expression: str, codes: dict[str, str]) -> str:
    """SQL reading a format's own codes first ('1' -> 'KEPALA KELUARGA'), then the value;
    the code '*' stands for any other non-blank value."""

    def literal(value: str) -> str:
        return q(value) if value else "NULL::VARCHAR"

    whens = " ".join(
        f"WHEN {q(code.upper())} THEN {literal(value)}"
        for code, value in codes.items()
        if code != "*"
    )
    other = (
        f"CASE WHEN nullif(trim({expression}), '') IS NULL THEN {expression} "
        f"ELSE {literal(codes['*'])} END"
        if "*" in codes
        else expression
    )
    return f"CASE upper(trim({expression})) {whens} ELSE {other} END"


def source_expressions(mapping: Mapping, header: list[str]) -> dict[str, tuple[str, str]]:
    """Canonical column -> (SQL over `raw`, header text for messages)."""
    out = {
        name: (
            coded(f"c{i}", mapping.values[name]) if name in mapping.values else f"c{i}",
            header[i],
        )
        for name, i in mapping.columns.items()
    }
    for name, value in mapping.constants.items():
        out[name] = (q(value), "--village")
    for name, parts in mapping.village_parts.items():
        cols = [f"trim(c{i})" for i in parts]
        widths = (2, 2, 2, 4)
        # one pattern over the parts joined by dots: each part is digits, so no dot is
        # taken for a separator
        pattern = "[.]".join(f"[0-9]{{1,{w}}}" for w in widths)
        joined = " || '.' || ".join(cols)
        padded = " || '.' || ".join(
            f"lpad({c}, {w}, '0')" for c, w in zip(cols, widths, strict=True)
        )
        out[name] = (
            f"CASE WHEN regexp_full_match({joined}, '{pattern}') THEN {padded} "
            f"ELSE nullif(concat_ws('.', {', '.join(cols)}), '...') END",
            "+".join(header[i] for i in parts),
        )
    return out

"""Checking every row of a source and writing the snapshot's files: the checks in SQL, exact
copies of earlier rows and keys shared by several rows, accepted.parquet (the typed columns
and each row's warnings) and rejects.csv (each rejected row with its reasons, as it was).
"""

from datetime import date
from pathlib import Path

import duckdb

from pesiar.ops.duck import connect, sql_path
from pesiar.regions.models import Level, Region
from pesiar.registers import validate
from pesiar.registers.checks import prepare
from pesiar.registers.reading import (
    Progress,
    collect_reader_rejects,
    execute,
    ident,
    load_raw,
    source_expressions,
)
from pesiar.registers.schema import REGISTERS, Kind, Type
from pesiar.registers.sources import Mapping, Source
from pesiar.registers.spellings import guess_date_format

Counts = tuple[int, int, int, int]  # rows read, accepted, rejected, accepted with warnings


def validate_to_parquet(
    kind: Kind,
    as_of: date,
    source: Source,
    mapping: Mapping,
    staging: Path,
    out: Path,
    progress: Progress | None,
    *,
    scope: str = "",
) -> tuple[Counts, dict, list[tuple]]:
    """Validate every row; write accepted.parquet and rejects.csv into `out`.

    Returns (rows_read, accepted, rejected, warned), reasons {code: {severity, rows}}
    and findings [(village_code, code, severity, rows)].
    """
    con = connect(staging / "tmp")  # in memory, spilling to the staging folder beyond the limit
    try:
        con.execute("SET preserve_insertion_order = true")
        villages = list(Region.objects.filter(level=Level.VILLAGE).values_list("code", flat=True))
        prepare(con, villages, scope)
        raw_columns = [f"c{i}" for i in range(len(source.header))]
        sources = source_expressions(mapping, source.header)
        rows = load_raw(con, source, progress)
        check_rows(con, kind, sources, raw_columns, as_of, rows, progress)
        reader_rejected = collect_reader_rejects(con, source)
        rows = keep_suspect_rows(con, rows)
        find_duplicates(con, kind, rows, raw_columns)
        write_accepted(con, kind, out, progress)
        write_rejects(con, kind, rows, sources, raw_columns, source.header, as_of, out)
        counts, findings = outcomes(con, "village_code" in sources, reader_rejected)
        check_written(con, out, counts[1])
    finally:
        con.close()
    reasons: dict[str, dict] = {}
    for _village, code, severity, n in findings:
        entry = reasons.setdefault(code, {"severity": severity, "rows": 0})
        entry["rows"] += n
    return counts, dict(sorted(reasons.items())), findings


def check_rows(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    sources: dict[str, tuple[str, str]],
    raw_columns: list[str],
    as_of: date,
    rows: str,
    progress: Progress | None,
) -> None:
    """Table `checked`: every row's typed values and problems. Each date column is read in
    the format most of its first thousand values have."""
    register = REGISTERS[kind]
    date_formats = {}
    for name, (expr, _header) in sources.items():
        if register.column(name).type != Type.DATE:
            continue
        sample = con.execute(
            f"SELECT {expr} FROM {rows} WHERE nullif(trim({expr}), '') IS NOT NULL LIMIT 1000"
        ).fetchall()
        date_formats[name] = guess_date_format([value for (value,) in sample])
    statement = validate.checked_table(kind, sources, raw_columns, as_of, rows, date_formats)
    execute(con, statement, "validate", progress)


def keep_suspect_rows(con: duckdb.DuckDBPyConnection, rows: str) -> str:
    """Tables `repeated` (the row hashes found more than once) and `suspect`: the raw rows
    that are rejected or may copy another row, the only ones read again; the rest of `raw`
    is let go. Returns the relation."""
    con.execute(
        f"""
        CREATE TEMP TABLE repeated AS SELECT h FROM checked GROUP BY h HAVING count(*) > 1;
        CREATE TEMP TABLE suspect AS SELECT * FROM {rows}
        WHERE k IN (SELECT k FROM checked
                    WHERE len(errors) > 0 OR h IN (SELECT h FROM repeated));
        DROP TABLE raw;
        """
    )
    return "suspect"


def write_accepted(
    con: duckdb.DuckDBPyConnection, kind: Kind, out: Path, progress: Progress | None
) -> None:
    """accepted.parquet: line, the typed columns and the warnings of every accepted row.

    Rows are in no set order (the checks look codes up by joins, which keep none); `line`
    says where each stood in the file. Unordered, both threads write, and zstd's first level
    compresses almost as well as its default in less time."""
    canonical = ", ".join(c.name for c in REGISTERS[kind].columns)
    con.execute("SET preserve_insertion_order = false")
    execute(
        con,
        f"""
        COPY (
            SELECT line, {canonical}, warnings FROM final WHERE NOT has_error
        ) TO {sql_path(out / "accepted.parquet")}
          (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)
        """,
        "write",
        progress,
    )


def check_written(con: duckdb.DuckDBPyConnection, out: Path, accepted: int) -> None:
    """accepted.parquet holds every accepted row (read back from the file)."""
    written = con.execute(
        f"SELECT count(*) FROM read_parquet({sql_path(out / 'accepted.parquet')})"
    ).fetchone()[0]
    if written != accepted:
        raise AssertionError(f"wrote {written} rows, expected {accepted}")


def outcomes(
    con: duckdb.DuckDBPyConnection, has_village: bool, reader_rejected: int
) -> tuple[Counts, list[tuple]]:
    """The counts of the import, and its findings [(village_code, code, severity, rows)]."""
    total, accepted, rejected, warned = con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE NOT has_error),
               count(*) FILTER (WHERE has_error),
               count(*) FILTER (WHERE NOT has_error AND len(warnings) > 0)
        FROM final
        """
    ).fetchone()
    village = "village_code" if has_village else "NULL::VARCHAR"
    findings = con.execute(
        f"""
        SELECT village, code, severity, count(*) FROM (
            SELECT {village} AS village, unnest(errors) AS code, 'error' AS severity
            FROM final
            UNION ALL
            SELECT {village}, unnest(warnings), 'warning' FROM final
            UNION ALL
            SELECT {village}, 'DUPLICATE_ROW', 'error' FROM final WHERE is_dup
            UNION ALL
            SELECT NULL, code, 'error' FROM reader_rejects
        ) GROUP BY ALL ORDER BY 1 NULLS FIRST, 2
        """
    ).fetchall()
    counts = (total + reader_rejected, accepted, rejected + reader_rejected, warned)
    return counts, findings


def find_duplicates(
    con: duckdb.DuckDBPyConnection, kind: Kind, rows: str, raw_columns: list[str]
) -> None:
    """Tables `dup` (exact copies of an earlier row: rejected) and `shared_<key>` (a key on
    several different accepted rows: a warning), then view `final` with `is_dup`,
    `has_error` and `warnings` (shared keys included) for every row. Only rows whose hash
    repeats are compared in full."""
    cols = ", ".join(f"r.{c}" for c in raw_columns)
    con.execute(
        f"""
        CREATE TEMP TABLE dup AS
        SELECT k, first_line FROM (
            SELECT r.k, row_number() OVER (PARTITION BY {cols} ORDER BY l.line) AS rank,
                   min(l.line) OVER (PARTITION BY {cols}) AS first_line
            FROM {rows} r JOIN lined l ON l.k = r.k
            WHERE l.h IN (SELECT h FROM repeated)
        ) WHERE rank > 1
        """
    )
    # The marks go into `checked` itself (few rows change), so that `final` is a view of
    # one table, with no join to run again each time it is read.
    con.execute(
        """
        ALTER TABLE checked ADD COLUMN dup_first_line BIGINT;
        UPDATE checked SET dup_first_line = dup.first_line FROM dup WHERE checked.k = dup.k;
        """
    )
    for key in REGISTERS[kind].shared_keys:
        code = {"noka": "NOKA_SHARED", "child_nik": "CHILD_NIK_SHARED"}.get(key, "NIK_SHARED")
        con.execute(
            f"""
            CREATE TEMP TABLE shared_{key} AS
            SELECT {key} AS key FROM checked
            WHERE {key} IS NOT NULL AND len(errors) = 0 AND dup_first_line IS NULL
            GROUP BY {key} HAVING count(*) > 1;
            UPDATE checked SET warnings = list_append(warnings, '{code}')
            WHERE len(errors) = 0 AND dup_first_line IS NULL
              AND {key} IN (SELECT key FROM shared_{key});
            """
        )
    con.execute(
        """
        CREATE TEMP VIEW final AS
        SELECT *, dup_first_line IS NOT NULL AS is_dup,
               len(errors) > 0 OR dup_first_line IS NOT NULL AS has_error
        FROM lined
        """
    )


def write_rejects(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    rows: str,
    sources: dict[str, tuple[str, str]],
    raw_columns: list[str],
    header: list[str],
    as_of: date,
    out: Path,
) -> None:
    """rejects.csv: line, first reason, its column and message, all reasons, then the row as
    it was (the original text for rows the reader could not split into columns)."""
    con.execute(
        f"CREATE TEMP TABLE rejected_raw AS SELECT f.k, f.line, f.is_dup, f.dup_first_line, "
        f"{', '.join('r.' + c for c in raw_columns)} "
        f"FROM final f JOIN {rows} r ON r.k = f.k WHERE f.has_error"
    )
    described = validate.checked_sql(kind, sources, raw_columns, as_of, relation="rejected_raw")
    originals = ", ".join(
        f"r.{c} AS {ident(_reject_column_name(h))}"
        for c, h in zip(raw_columns, header, strict=True)
    )
    nulls = ", ".join(f"NULL AS {ident(_reject_column_name(h))}" for h in header)
    duplicate = (
        "CASE WHEN r.is_dup THEN [{'code': 'DUPLICATE_ROW', 'column': NULL::VARCHAR, "
        "'severity': 'error', 'message': 'exact duplicate of line ' || r.dup_first_line || "
        "'; kept once'}] ELSE [] END"
    )
    con.execute(
        f"""
        COPY (
            SELECT {_csv_text("COLUMNS(*)")} FROM (
                SELECT line, errs[1].code AS reason, errs[1]."column" AS "column",
                       errs[1].message AS message,
                       array_to_string(list_transform(errs, lambda p: p.code), '|') AS reasons,
                       NULL AS original_line, * EXCLUDE (line, errs)
                FROM (
                    SELECT r.line,
                           list_concat(
                               list_filter(m.problems, lambda p: p.severity = 'error'),
                               {duplicate}
                           ) AS errs,
                           {originals}
                    FROM rejected_raw r JOIN ({described}) m ON r.k = m.k
                )
                UNION ALL
                SELECT line, code, NULL, message, code, text, {nulls} FROM reader_rejects
            ) ORDER BY CAST(line AS BIGINT)  -- by number: the cells are text by then
        ) TO {sql_path(out / "rejects.csv")} (HEADER, DELIMITER ',')
        """
    )


def _csv_text(column: str) -> str:
    """`column` as CSV text that no spreadsheet runs as a formula (see pesiar.accounts.cells):
    a leading =, +, -, @, tab or CR gets a `'` prefix."""
    text = f"CAST({column} AS VARCHAR)"
    return (
        f"CASE WHEN left({text}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
        f"THEN '''' || {text} ELSE {text} END"
    )


def _reject_column_name(header: str) -> str:
    reserved = {"line", "reason", "column", "message", "reasons", "original_line"}
    return f"{header} (source)" if header.strip().lower() in reserved else header

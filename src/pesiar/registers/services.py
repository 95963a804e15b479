"""Importing a register extract as an immutable snapshot.

Steps: read the source (format, encoding, delimiter, header mapping) -> load it into DuckDB
(a memory limit, spilling to the staging folder beyond it) -> validate every row in SQL ->
write accepted rows to Parquet and rejects to CSV in a staging folder -> in one database
transaction, record the snapshot and move its folder into place.
"""

import hashlib
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import duckdb
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pesiar.ops.duck import connect, sql_path
from pesiar.regions.models import Level, Region
from pesiar.registers import intake, validate
from pesiar.registers.limits import ImportLimitError, check_rows
from pesiar.registers.models import Finding, Snapshot
from pesiar.registers.schema import REGISTERS, Kind, Type
from pesiar.registers.signals import snapshot_imported
from pesiar.registers.snapshots import ImportScopeError, import_scope
from pesiar.registers.sources import (
    Mapping,
    Source,
    SourceError,
)

logger = logging.getLogger(__name__)

Progress = Callable[[str, float | None], None]
READER_ERRORS = {
    "TOO MANY COLUMNS": "ROW_TOO_MANY_COLUMNS",
    "MISSING COLUMNS": "ROW_MISSING_COLUMNS",
    "UNQUOTED VALUE": "ROW_UNQUOTED_VALUE",
    "LINE SIZE OVER MAXIMUM": "ROW_TOO_LONG",
    "INVALID UNICODE": "ROW_INVALID_UNICODE",
    "INVALID ENCODING": "ROW_INVALID_UNICODE",
}


class RegisterImportError(ValueError):
    """An import that cannot go ahead; nothing was written."""


@dataclass
class ImportResult:
    kind: str
    as_of: str
    source: str
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    warnings: int = 0
    snapshot_id: int | None = None
    duplicate_of: int | None = None
    replaced: int | None = None
    reasons: dict[str, dict] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    format: str = ""
    profile: str = ""  # the format profile used ("OpenSID import template")
    notes: list[str] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    rejects_file: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def registers_root() -> Path:
    return Path(settings.DATA_DIR) / "registers"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def _owner_alive(folder: Path) -> bool:
    try:
        host, pid = (folder / "owner").read_text().split()
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return True  # another machine's work: not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_orphans() -> list[Path]:
    """Remove staging folders and unrecorded snapshot folders left by an import that died.

    Readers only ever open folders recorded in the Snapshot table, so these were never
    visible; this reclaims their space. Folders of an import still running are kept.
    """
    root = registers_root()
    removed: list[Path] = []
    staging = root / ".staging"
    if staging.exists():
        for folder in staging.iterdir():
            if not _owner_alive(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    recorded = set(Snapshot.objects.values_list("folder", flat=True))
    for kind in Kind:
        for folder in (root / kind).glob("*/*"):
            relative = str(folder.relative_to(settings.DATA_DIR))
            if relative not in recorded and not _owner_alive(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


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
    XLSX: the sheet row; Parquet: the row number) and the raw columns c0..cN."""
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
    try:
        check_rows(source.path, con.execute("SELECT count(*) FROM raw").fetchone()[0])
    except ImportLimitError as exc:
        raise RegisterImportError(str(exc)) from exc
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
        con.execute(
            f"""
            CREATE TEMP TABLE reader_rejects AS
            SELECT line, CASE first(error_type) {cases} ELSE 'ROW_MALFORMED' END AS code,
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
        return validate.q(value) if value else "NULL::VARCHAR"

    whens = " ".join(
        f"WHEN {validate.q(code.upper())} THEN {literal(value)}"
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


def source_expressions(
    kind: Kind, mapping: Mapping, header: list[str]
) -> dict[str, tuple[str, str]]:
    """Canonical column -> (SQL over `raw`, header text for messages)."""
    out = {
        name: (
            coded(f"c{i}", mapping.values[name]) if name in mapping.values else f"c{i}",
            header[i],
        )
        for name, i in mapping.columns.items()
    }
    for name, value in mapping.constants.items():
        out[name] = (validate.q(value), "--village")
    for name, parts in mapping.village_parts.items():
        cols = [f"trim(c{i})" for i in parts]
        widths = (2, 2, 2, 4)
        ok = " AND ".join(
            f"regexp_full_match({c}, '[0-9]{{1,{w}}}')" for c, w in zip(cols, widths, strict=True)
        )
        padded = " || '.' || ".join(
            f"lpad({c}, {w}, '0')" for c, w in zip(cols, widths, strict=True)
        )
        out[name] = (
            f"CASE WHEN {ok} THEN {padded} "
            f"ELSE nullif(concat_ws('.', {', '.join(cols)}), '...') END",
            "+".join(header[i] for i in parts),
        )
    return out


def find_duplicates(
    con: duckdb.DuckDBPyConnection, kind: Kind, rows: str, raw_columns: list[str]
) -> None:
    """Tables `dup` (exact copies of an earlier row: rejected) and `shared_<key>` (a key on
    several different accepted rows: a finding), then view `final` with `has_error` and
    `all_warnings` for every row. Only rows whose hash repeats are compared in full."""
    cols = ", ".join(f"r.{c}" for c in raw_columns)
    con.execute(
        f"""
        CREATE TEMP TABLE dup AS
        SELECT k, first_line FROM (
            SELECT r.k, row_number() OVER (PARTITION BY {cols} ORDER BY l.line) AS rank,
                   min(l.line) OVER (PARTITION BY {cols}) AS first_line
            FROM {rows} r JOIN lined l ON l.k = r.k
            WHERE l.h IN (SELECT h FROM checked GROUP BY h HAVING count(*) > 1)
        ) WHERE rank > 1
        """
    )
    joins, flags = [], []
    for key in REGISTERS[kind].shared_keys:
        code = {"noka": "NOKA_SHARED", "child_nik": "CHILD_NIK_SHARED"}.get(key, "NIK_SHARED")
        con.execute(
            f"""
            CREATE TEMP TABLE shared_{key} AS
            SELECT {key} AS key FROM checked
            WHERE {key} IS NOT NULL AND len(errors) = 0 AND k NOT IN (SELECT k FROM dup)
            GROUP BY {key} HAVING count(*) > 1
            """
        )
        joins.append(f"LEFT JOIN shared_{key} ON lined.{key} = shared_{key}.key")
        flags.append(f"CASE WHEN shared_{key}.key IS NOT NULL THEN '{code}' END")
    shared = (
        f"list_filter([{', '.join(flags)}]::VARCHAR[], lambda c: c IS NOT NULL)"
        if flags
        else "[]::VARCHAR[]"
    )
    con.execute(
        f"""
        CREATE TEMP VIEW final AS
        SELECT lined.*, dup.k IS NOT NULL AS is_dup, dup.first_line AS dup_first_line,
               len(errors) > 0 OR dup.k IS NOT NULL AS has_error,
               CASE WHEN len(errors) = 0 AND dup.k IS NULL
                    THEN list_concat(warnings, {shared}) ELSE warnings END AS all_warnings
        FROM lined LEFT JOIN dup ON lined.k = dup.k {" ".join(joins)}
        """
    )


def import_register(
    kind: str,
    path: Path,
    as_of: date,
    *,
    mapping_file: Path | None = None,
    replace: bool = False,
    user=None,
    scope: str | None = None,
    progress: Progress | None = None,
    format_name: str | None = None,
    village: str | None = None,
) -> ImportResult:
    """Import one register file as the snapshot of `kind` on `as_of` for region `scope`
    (see `snapshots.import_scope`: an officer's own region, rows outside it rejected).

    `format_name` names a profile (else it is detected from the header); `village` is the
    village of a file that does not name it (OpenSID)."""
    started = time.perf_counter()
    try:
        kind = Kind(kind)
    except ValueError as exc:
        raise RegisterImportError(
            f"unknown register {kind!r}; one of: {', '.join(k.value for k in Kind)}"
        ) from exc
    try:
        scope = import_scope(user, kind, scope)
    except ImportScopeError as exc:
        raise RegisterImportError(str(exc)) from exc
    path = Path(path)
    result = ImportResult(kind=kind.value, as_of=as_of.isoformat(), source=path.name)
    if not path.is_file():
        raise RegisterImportError(f"{path}: no such file")
    say = progress or (lambda _label, _fraction: None)
    say("checksum", None)
    sha = file_sha256(path)
    current = Snapshot.objects.current().filter(kind=kind, as_of=as_of, scope=scope)
    same = current.filter(sha256=sha).first()
    if same is not None:
        result.duplicate_of = same.pk
        result.rows_read, result.accepted = same.rows_read, same.accepted
        result.rejected, result.warnings = same.rejected, same.warned
        result.seconds = time.perf_counter() - started
        return result
    existing = current.first()
    if existing is not None and not replace:
        # A file that cannot be read says so first (checked outside the data folder, which
        # a refused import leaves untouched); the date's snapshot matters only then.
        try:
            intake.preview(
                kind, path, mapping_file=mapping_file, format_name=format_name, village=village
            )
        except SourceError as exc:
            raise RegisterImportError(str(exc)) from exc
        raise RegisterImportError(
            f"a {kind} snapshot for {as_of} ({scope or 'nation-wide'}) already exists "
            f"(#{existing.pk}, from "
            f"{existing.source_name}, imported {existing.created_at:%Y-%m-%d %H:%M}); "
            "use --replace to replace it with this file"
        )

    cleanup_orphans()
    root = registers_root()
    token = uuid.uuid4().hex
    staging = root / ".staging" / token
    out = staging / "out"
    out.mkdir(parents=True)
    owner = f"{socket.gethostname()} {os.getpid()}\n"
    (staging / "owner").write_text(owner)
    (out / "owner").write_text(owner)
    final = root / kind / as_of.isoformat() / token
    try:
        try:
            taken = intake.prepare(
                kind,
                path,
                staging,
                mapping_file=mapping_file,
                format_name=format_name,
                village=village,
            )
            source, mapping = taken.source, taken.mapping
            result.profile, result.notes = taken.detected, taken.notes
        except SourceError as exc:
            raise RegisterImportError(str(exc)) from exc
        result.format, result.encoding = source.format, source.encoding
        result.delimiter = taken.delimiter if source.format == "csv" else ""
        result.columns = mapping.describe(source.header)
        result.ignored_columns = mapping.ignored
        counts, reasons, findings = validate_to_parquet(
            kind, as_of, source, mapping, staging, out, progress, scope=scope
        )
        result.rows_read, result.accepted, result.rejected, result.warnings = counts
        result.reasons = reasons
        if result.rows_read != result.accepted + result.rejected:
            raise AssertionError(f"rows_read {counts[0]} != accepted + rejected for {path}")
        say("commit", None)
        with transaction.atomic():
            if existing is not None:  # first, so that one current snapshot per date holds
                Snapshot.objects.filter(pk=existing.pk).update(superseded_at=timezone.now())
            snapshot = Snapshot.objects.create(
                kind=kind,
                as_of=as_of,
                scope=scope,
                source_name=path.name[:255],
                sha256=sha,
                size_bytes=path.stat().st_size,
                rows_read=result.rows_read,
                accepted=result.accepted,
                rejected=result.rejected,
                warned=result.warnings,
                folder=str(final.relative_to(settings.DATA_DIR)),
                summary={
                    "profile": result.profile,
                    "notes": result.notes,
                    "reasons": reasons,
                    "columns": result.columns,
                    "ignored_columns": result.ignored_columns,
                    "format": result.format,
                    "encoding": result.encoding,
                    "delimiter": result.delimiter,
                },
                created_by=user if getattr(user, "pk", None) else None,
            )
            if existing is not None:
                Snapshot.objects.filter(pk=existing.pk).update(superseded_by=snapshot)
                result.replaced = existing.pk
            Finding.objects.bulk_create(
                [
                    Finding(snapshot=snapshot, village_code=v or "", code=c, severity=s, rows=n)
                    for v, c, s, n in findings
                ],
                batch_size=2000,
            )
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(out, final)  # the snapshot becomes visible only with this commit
    except BaseException:
        if (
            final.exists()
            and not Snapshot.objects.filter(
                folder=str(final.relative_to(settings.DATA_DIR))
            ).exists()
        ):
            shutil.rmtree(final, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # Until this point a cleanup by another import leaves the folder alone (its owner runs).
    (final / "owner").unlink(missing_ok=True)
    result.snapshot_id = snapshot.pk
    result.rejects_file = str(snapshot.rejects_file) if result.rejected else None
    result.seconds = time.perf_counter() - started
    summary = {**snapshot.summary, "seconds": round(result.seconds, 2)}
    summary.update(announce(snapshot))
    Snapshot.objects.filter(pk=snapshot.pk).update(summary=summary)
    return result


def announce(snapshot: Snapshot) -> dict:
    """Send `snapshot_imported` (the field app confirms registrations a membership snapshot
    shows); returns the summary entries the receivers give. The snapshot is in place
    whatever happens there: a receiver's failure is logged and recorded in the summary."""
    entries: dict = {}
    for receiver, answer in snapshot_imported.send_robust(sender=Snapshot, snapshot=snapshot):
        if isinstance(answer, Exception):
            name = getattr(receiver, "__qualname__", repr(receiver))
            logger.error("%s after snapshot #%s failed", name, snapshot.pk, exc_info=answer)
            entries.setdefault("errors", {})[name] = f"{type(answer).__name__}: {answer}"[:500]
        elif isinstance(answer, dict):
            entries.update(answer)
    return entries


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
) -> tuple[tuple[int, int, int, int], dict, list[tuple]]:
    """Validate every row; write accepted.parquet and rejects.csv into `out`.

    Returns (rows_read, accepted, rejected, warned), reasons {code: {severity, rows}}
    and findings [(village_code, code, severity, rows)].
    """
    register = REGISTERS[kind]
    con = connect(staging / "tmp")  # in memory, spilling to the staging folder beyond the limit
    try:
        con.execute("SET preserve_insertion_order = true")
        villages = list(Region.objects.filter(level=Level.VILLAGE).values_list("code", flat=True))
        validate.prepare(con, villages, scope)
        raw_columns = [f"c{i}" for i in range(len(source.header))]
        sources = source_expressions(kind, mapping, source.header)
        rows = load_raw(con, source, progress)
        date_formats = {
            name: validate.guess_date_format(
                [
                    value
                    for (value,) in con.execute(
                        f"SELECT {expr} FROM {rows} WHERE nullif(trim({expr}), '') IS NOT NULL "
                        "LIMIT 1000"
                    ).fetchall()
                ]
            )
            for name, (expr, _header) in sources.items()
            if register.column(name).type == Type.DATE
        }
        statements = validate.checked_tables(kind, sources, raw_columns, as_of, rows, date_formats)
        for statement in statements:
            execute(con, statement, "validate", progress)
        reader_rejected = collect_reader_rejects(con, source)
        find_duplicates(con, kind, rows, raw_columns)
        canonical = ", ".join(c.name for c in register.columns)
        execute(
            con,
            f"""
            COPY (
                SELECT line, {canonical}, all_warnings AS warnings
                FROM final WHERE NOT has_error ORDER BY line
            ) TO {sql_path(out / "accepted.parquet")} (FORMAT parquet, COMPRESSION zstd)
            """,
            "write",
            progress,
        )
        write_rejects(con, kind, rows, sources, raw_columns, source.header, as_of, out)
        total, accepted, rejected, warned = con.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE NOT has_error),
                   count(*) FILTER (WHERE has_error),
                   count(*) FILTER (WHERE NOT has_error AND len(all_warnings) > 0)
            FROM final
            """
        ).fetchone()
        village = "village_code" if "village_code" in sources else "NULL::VARCHAR"
        rows = con.execute(
            f"""
            SELECT village, code, severity, count(*) FROM (
                SELECT {village} AS village, unnest(errors) AS code, 'error' AS severity
                FROM final
                UNION ALL
                SELECT {village}, unnest(all_warnings), 'warning' FROM final
                UNION ALL
                SELECT {village}, 'DUPLICATE_ROW', 'error' FROM final WHERE is_dup
                UNION ALL
                SELECT NULL, code, 'error' FROM reader_rejects
            ) GROUP BY ALL ORDER BY 1 NULLS FIRST, 2
            """
        ).fetchall()
        written = con.execute(
            f"SELECT count(*) FROM read_parquet({sql_path(out / 'accepted.parquet')})"
        ).fetchone()[0]
        if written != accepted:
            raise AssertionError(f"wrote {written} rows, expected {accepted}")
    finally:
        con.close()
    reasons: dict[str, dict] = {}
    for _village, code, severity, n in rows:
        entry = reasons.setdefault(code, {"severity": severity, "rows": 0})
        entry["rows"] += n
    return (
        (total + reader_rejected, accepted, rejected + reader_rejected, warned),
        dict(sorted(reasons.items())),
        rows,
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

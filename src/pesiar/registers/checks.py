"""The parts every column check is built from: the reference tables and functions the SQL
uses, SQL for messages and vocabulary keys, and `Check`, which collects one column's
intermediate values by level, its typed value and its problems {code, column, severity,
message}.

The NIK/KK/Noka shape of a value that is not already plain digits is decided by
`pesiar.regions.nik.classify` (registered as a DuckDB function), so the SQL and the Python
rules cannot drift apart.
"""

from datetime import date

import duckdb

from pesiar.ops.duck import sql_text
from pesiar.regions import builtin, nik
from pesiar.registers.schema import REJECT, Column
from pesiar.registers.spellings import DATE_FORMATS

ERROR, WARNING = nik.ERROR, nik.WARNING
INTRINSIC_WARNINGS = {
    "NIK_DISTRICT_UNKNOWN",
    "KK_DISTRICT_UNKNOWN",
    "NIK_SEX_MISMATCH",
    "NIK_BIRTHDATE_MISMATCH",
    "NIK_SHARED",
    "NOKA_SHARED",
    "CHILD_NIK_SHARED",
    "REASON_UNKNOWN",
    # A NIK records where it was first issued, not a region that must exist today.
    "NIK_REGION_UNKNOWN",
    "NIK_REGION_RETIRED",
    "KK_REGION_UNKNOWN",
    "KK_REGION_RETIRED",
}


q = sql_text  # short, for the many literals of the checks


def _classify(value: str | None) -> str:
    digits, reason = nik.classify(value)
    return digits if reason is None else "E:" + reason


def prepare(con: duckdb.DuckDBPyConnection, village_codes: list[str], scope: str = "") -> None:
    """Reference tables and functions the validation SQL uses; `scope` is the region the
    import covers ('' the nation): villages outside it are OUT_OF_SCOPE."""
    con.create_function(
        "id_classify",
        _classify,
        ["VARCHAR"],
        "VARCHAR",
        null_handling="special",
        side_effects=False,
    )
    import pyarrow as pa

    tables = {
        "ref_regency": sorted(c.replace(".", "") for c in builtin.codes(2)),
        "ref_district": sorted(c.replace(".", "") for c in builtin.codes(3)),
        "ref_village": sorted(village_codes),
    }
    for name, codes in tables.items():
        con.register("codes_arrow", pa.table({"code": pa.array(codes, pa.string())}))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT code FROM codes_arrow")
        con.unregister("codes_arrow")
    inside = "TRUE" if not scope else f"(code = {q(scope)} OR starts_with(code, {q(scope + '.')}))"
    con.execute(f"CREATE OR REPLACE TEMP MACRO in_import_scope(code) AS {inside}")
    con.execute(
        """
        CREATE OR REPLACE TEMP MACRO days_in(y, m) AS
          CASE WHEN m = 2 THEN
                 CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
               WHEN m IN (4, 6, 9, 11) THEN 30 ELSE 31 END
        """
    )


def message(before: str, value: str, after: str) -> str:
    """SQL for a message: literal text, a value (SQL), literal text."""
    return f"{q(before)} || {value} || {q(after)}"


def shown(expr: str) -> str:
    """The raw value as it appears in messages (quoted, at most 40 characters)."""
    return (
        f"'''' || CASE WHEN length({expr}) > 40 THEN left({expr}, 37) || '...' "
        f"ELSE coalesce({expr}, '') END || ''''"
    )


def key(expr: str) -> str:
    """Upper-case letters and digits only: the key that free-text vocabularies are matched on."""
    return f"regexp_replace(upper(coalesce({expr}, '')), '[^A-Z0-9]', '', 'g')"


def vocabulary_lookup(upper: str, values: dict, quote_result: bool = True) -> str:
    """SQL mapping an upper-cased value onto its canonical one: its exact spelling, else its
    key (see `key`). One look-up, so the key is computed only for the values that need it."""
    spellings = [v for variants in values.values() for v in variants]
    results = [
        q(canonical) if quote_result else str(canonical)
        for canonical, variants in values.items()
        for _ in variants
    ]
    listed = ", ".join(q(v) for v in spellings)
    return (
        f"[{', '.join(results)}][list_position([{listed}], "
        f"CASE WHEN {upper} IN ({listed}) THEN {upper} ELSE {key(upper)} END)]"
    )


class Problem:
    """One check: when `condition` holds, the row has problem `code` in `column`."""

    def __init__(self, condition: str, code: str, column: str, severity: str, message: str):
        self.condition, self.code, self.column = condition, code, column
        self.severity, self.message = severity, message

    def code_sql(self, flag: str) -> str:
        return f"CASE WHEN {flag} THEN {q(self.code)} END"

    def struct_sql(self, flag: str) -> str:
        return (
            f"CASE WHEN {flag} THEN {{'code': {q(self.code)}, "
            f"'column': {q(self.column)}, 'severity': {q(self.severity)}, "
            f"'message': {self.message}}} END"
        )


class Check:
    """SQL for one canonical column: intermediate values by level, the typed value, and
    the problems.

    An expression refers to a column's intermediate values by alias only, and every level
    is its own SELECT over the one below, so that each value is computed once.
    """

    def __init__(self, column: Column, header: str, as_of: date):
        self.column = column
        self.header = header
        self.as_of = as_of
        self.inter: list[tuple[int, str, str]] = []  # (level, alias, expression)
        self.problems: list[Problem] = []
        self.src, self.value = f"src_{column.name}", f"t_{column.name}"
        self.date_format = DATE_FORMATS[0]

    @property
    def name(self) -> str:
        return self.column.name

    @property
    def is_blank(self) -> str:
        """Alias of "the value is empty", computed only for the columns that ask for it."""
        alias = f"blank_{self.name}"
        if all(a != alias for _level, a, _e in self.inter):
            self.add(1, alias, f"nullif(trim({self.src}), '') IS NULL")
        return alias

    def add(self, level: int, alias: str, expression: str) -> str:
        self.inter.append((level, alias, expression))
        return alias

    def severity(self, code: str) -> str:
        if (
            code in INTRINSIC_WARNINGS
            or code in self.column.warn_codes
            or self.column.on_bad != REJECT
        ):
            return WARNING
        return ERROR

    def problem(
        self, condition: str, code: str, message_sql: str, severity: str | None = None
    ) -> None:
        severity = severity or self.severity(code)
        self.problems.append(Problem(condition, code, self.name, severity, message_sql))

    def blank_problem(self) -> None:
        if not self.column.blank_ok:
            self.problem(self.is_blank, "VALUE_BLANK", q(f"{self.header}: the value is empty"))

    def invalid(self, code: str, condition: str, what: str) -> None:
        """A non-blank value that does not read as `what`."""
        self.problem(
            f"NOT {self.is_blank} AND ({condition})",
            code,
            message(f"{self.header}: ", shown(self.src), f" is not {what}"),
        )

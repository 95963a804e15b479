"""Row validation in SQL (DuckDB): each source value becomes a typed canonical value and a
list of problems {code, column, severity, message}; a row with an error is rejected.

The NIK/KK/Noka shape of a value that is not already plain digits is decided by
`pesiar.regions.nik.classify` (registered as a DuckDB function), so the SQL and the Python
rules cannot drift apart; region, date and serial checks run in SQL for every value.
"""

from datetime import date

import duckdb

from pesiar.regions import builtin, nik
from pesiar.registers.schema import REGISTERS, REJECT, Column, Kind, Type

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
}
DATE_FORMATS = [
    "%Y-%m-%d",
    "%d-%m-%Y",
    "%d/%m/%Y",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%Y%m%d",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d-%m-%Y %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
]
SEX_VALUES = {
    "L": ("L", "LAKILAKI", "LAKI", "PRIA", "M", "MALE", "1"),
    "P": ("P", "PEREMPUAN", "WANITA", "F", "FEMALE", "W", "2"),
}
SEGMENT_VALUES = {
    "PBI_APBN": ("PBIAPBN", "PBIJK", "PBI", "PBIPUSAT", "PBINASIONAL"),
    "PBI_APBD": ("PBIAPBD", "PBPUPEMDA", "PBIDAERAH", "PBIPEMDA", "PBPUBPPEMDA"),
    "PPU": ("PPU", "PPUPN", "PPUBU", "PEKERJAPENERIMAUPAH", "PPUPNS", "PPUSWASTA"),
    "PBPU": ("PBPU", "MANDIRI", "PBPUMANDIRI", "PEKERJABUKANPENERIMAUPAH", "PBPUBP"),
    "BP": ("BP", "BUKANPEKERJA", "BPMANDIRI"),
}
STATUS_VALUES = {
    "ACTIVE": ("AKTIF", "ACTIVE", "A", "1", "Y", "YA"),
    "INACTIVE": ("NONAKTIF", "TIDAKAKTIF", "INACTIVE", "NONACTIVE", "NA", "0", "N", "TIDAK"),
}
REASON_VALUES = {
    "ARREARS": ("ARREARS", "TUNGGAKAN", "MENUNGGAK", "TUNGGAK", "TUNGGAKANIURAN"),
    "PBI_DEACTIVATED": ("PBIDEACTIVATED", "PBIDINONAKTIFKAN", "NONAKTIFPBI", "PBINONAKTIF"),
    "LAYOFF_ENDED": ("LAYOFFENDED", "PHK", "PHKBERAKHIR", "MASAPHKBERAKHIR"),
    "DECEASED": ("DECEASED", "MENINGGAL", "MENINGGALDUNIA", "MATI", "WAFAT"),
    "OTHER": ("OTHER", "LAINNYA", "LAIN", "LAINLAIN"),
}
CLASS_VALUES = {
    1: ("1", "I", "KELAS1", "KELASI", "KLS1", "KLSI"),
    2: ("2", "II", "KELAS2", "KELASII", "KLS2", "KLSII"),
    3: ("3", "III", "KELAS3", "KELASIII", "KLS3", "KLSIII"),
}
ID_LENGTH = {Type.NIK: 16, Type.KK: 16, Type.NOKA: 13}
ID_PREFIX = {Type.NIK: "NIK", Type.KK: "KK", Type.NOKA: "NOKA"}


def _classify(value: str | None) -> str:
    digits, reason = nik.classify(value)
    return digits if reason is None else "E:" + reason


def prepare(con: duckdb.DuckDBPyConnection, village_codes: list[str]) -> None:
    """Reference tables and functions the validation SQL uses."""
    con.create_function(
        "id_classify",
        _classify,
        ["VARCHAR"],
        "VARCHAR",
        null_handling="special",
        side_effects=False,
    )
    con.execute("CREATE OR REPLACE TEMP TABLE ref_regency (code VARCHAR PRIMARY KEY)")
    con.executemany(
        "INSERT INTO ref_regency VALUES (?)", [[c.replace(".", "")] for c in builtin.codes(2)]
    )
    con.execute("CREATE OR REPLACE TEMP TABLE ref_district (code VARCHAR PRIMARY KEY)")
    con.executemany(
        "INSERT INTO ref_district VALUES (?)", [[c.replace(".", "")] for c in builtin.codes(3)]
    )
    import pyarrow as pa

    villages = pa.table({"code": pa.array(sorted(village_codes), pa.string())})
    con.register("village_codes_arrow", villages)
    con.execute("CREATE OR REPLACE TEMP TABLE ref_village AS SELECT code FROM village_codes_arrow")
    con.unregister("village_codes_arrow")
    con.execute(
        """
        CREATE OR REPLACE TEMP MACRO days_in(y, m) AS
          CASE WHEN m = 2 THEN
                 CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
               WHEN m IN (4, 6, 9, 11) THEN 30 ELSE 31 END
        """
    )


def q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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


def vocabulary_case(expr: str, values: dict, quote_result: bool = True) -> str:
    k = key(expr)
    whens = " ".join(
        f"WHEN {k} IN ({', '.join(q(v) for v in variants)}) THEN "
        f"{q(canonical) if quote_result else canonical}"
        for canonical, variants in values.items()
    )
    return f"CASE {whens} END"


class Check:
    """SQL for one canonical column: its typed value and its problems."""

    def __init__(self, column: Column, source: str, header: str, kind: Kind, as_of: date):
        self.column = column
        self.src = source  # SQL expression for the raw value (VARCHAR)
        self.header = header
        self.kind = kind
        self.as_of = as_of
        self.ctes: list[tuple[str, str]] = []  # (alias, expression) computed before checks

    @property
    def name(self) -> str:
        return self.column.name

    def severity(self, code: str) -> str:
        if code in INTRINSIC_WARNINGS or self.column.on_bad != REJECT:
            return WARNING
        return ERROR

    def problem(self, condition: str, code: str, message_sql: str) -> str:
        return (
            f"CASE WHEN {condition} THEN {{'code': {q(code)}, 'column': {q(self.name)}, "
            f"'severity': {q(self.severity(code))}, 'message': {message_sql}}} END"
        )

    def blank(self) -> str:
        return f"nullif(trim({self.src}), '') IS NULL"

    def blank_problem(self) -> list[str]:
        if self.column.blank_ok:
            return []
        return [
            self.problem(self.blank(), "VALUE_BLANK", f"{q(f'{self.header}: the value is empty')}")
        ]


def column_sql(
    check: Check, helpers: dict[str, str]
) -> tuple[list[tuple[str, str]], str, list[str]]:
    """(intermediate columns, typed value expression, problem expressions) for one column.

    `helpers` gives the aliases of the typed sex and birth date of the same row when present.
    """
    c, t, n, src, h = check.column, check.column.type, check.name, check.src, check.header
    inter: list[tuple[str, str]] = []
    problems: list[str] = []
    as_of_int = check.as_of.year * 10000 + check.as_of.month * 100 + check.as_of.day

    if t in ID_LENGTH:
        length, prefix = ID_LENGTH[t], ID_PREFIX[t]
        label = {"NIK": "NIK", "KK": "KK number", "NOKA": "JKN card number (Noka)"}[prefix]
        s = f"s_{n}"
        inter.append(
            (
                s,
                f"CASE WHEN regexp_full_match({src}, '[0-9]+') THEN {src} "
                f"ELSE id_classify({src}) END",
            )
        )
        d = f"d_{n}"
        inter.append(
            (d, f"CASE WHEN {s} LIKE 'E:%' OR length({s}) <> {length} THEN NULL ELSE {s} END")
        )
        if not c.blank_ok:
            problems.append(
                check.problem(
                    f"{s} = 'E:BLANK'", f"{prefix}_BLANK", q(f"{h}: the {label} is empty")
                )
            )
        problems.append(
            check.problem(
                f"{s} = 'E:SCIENTIFIC'",
                f"{prefix}_SCIENTIFIC",
                message(
                    f"{h}: the {label} ",
                    shown(src),
                    " was stored as a floating-point number, so digits may have been lost; "
                    "re-export the column as text",
                ),
            )
        )
        problems.append(
            check.problem(
                f"{s} = 'E:CHARACTERS'",
                f"{prefix}_CHARACTERS",
                message(
                    h + ": the " + label + " ", shown(src), " contains characters other than digits"
                ),
            )
        )
        problems.append(
            check.problem(
                f"{s} NOT LIKE 'E:%' AND length({s}) <> {length}",
                f"{prefix}_LENGTH",
                f"{q(h + ': the ' + label + ' ')} || {shown(src)} || ' has ' || length({s}) || "
                f"{q(f' digits instead of {length}')}",
            )
        )
        if t in (Type.NIK, Type.KK):
            problems.append(
                check.problem(
                    f"{d} IS NOT NULL AND substr({d}, 1, 4) NOT IN (SELECT code FROM ref_regency)",
                    f"{prefix}_REGION_UNKNOWN",
                    message(
                        f"{h}: the {label} ",
                        f"{d} || ' starts with ' || substr({d}, 1, 2) || '.' || substr({d}, 3, 2)",
                        ", which is not a known regency or city",
                    ),
                )
            )
            problems.append(
                check.problem(
                    f"{d} IS NOT NULL AND substr({d}, 1, 4) IN (SELECT code FROM ref_regency) "
                    f"AND substr({d}, 1, 6) NOT IN (SELECT code FROM ref_district)",
                    f"{prefix}_DISTRICT_UNKNOWN",
                    message(
                        f"{h}: the {label} ",
                        d,
                        " names a district that is not in the current list (split or renumbered?)",
                    ),
                )
            )
        if t == Type.KK:
            problems.append(
                check.problem(
                    f"substr({d}, 7, 6) = '000000'",
                    "KK_ISSUE_DATE_ZERO",
                    message(h + ": the KK number ", d, " has an all-zero issue date"),
                )
            )
        if t == Type.NIK:
            problems.extend(nik_date_problems(check, d, as_of_int, inter, helpers))
        value = d
    elif t in (Type.TEXT, Type.CODE):
        value = f"nullif(trim({src}), '')"
        if t == Type.CODE:
            value = f"upper({value})"
        problems += check.blank_problem()
    elif t == Type.SEX:
        value = vocabulary_case(src, SEX_VALUES)
        problems += check.blank_problem()
        problems.append(
            check.problem(
                f"NOT ({check.blank()}) AND ({value}) IS NULL",
                "SEX_INVALID",
                message(h + ": ", shown(src), " is not a sex (L/P, LAKI-LAKI/PEREMPUAN, 1/2, M/F)"),
            )
        )
    elif t == Type.DATE:
        v = f"v_{n}"
        trimmed = f"trim({src})"
        formats = "[" + ", ".join(q(f) for f in DATE_FORMATS) + "]"
        serial = f"split_part({trimmed}, '.', 1)"
        inter.append(
            (
                v,
                f"CASE WHEN regexp_full_match({trimmed}, '[0-9]{{1,5}}(\\.0+)?') "
                f"AND CAST({serial} AS INTEGER) BETWEEN 1 AND 109573 "
                f"THEN DATE '1899-12-30' + CAST({serial} AS INTEGER) "
                f"ELSE CAST(try_strptime({trimmed}, {formats}) AS DATE) END",
            )
        )
        value = f"CASE WHEN {v} BETWEEN DATE '1880-01-01' AND DATE '2199-12-31' THEN {v} END"
        if n in ("birth_date", "death_date", "layoff_date"):
            value = f"CASE WHEN {v} <= DATE '{check.as_of.isoformat()}' THEN ({value}) END"
            problems.append(
                check.problem(
                    f"{v} > DATE '{check.as_of.isoformat()}' AND {v} <= DATE '2199-12-31'",
                    "DATE_FUTURE",
                    message(
                        h + ": ",
                        shown(src),
                        " is after the snapshot date " + check.as_of.isoformat(),
                    ),
                )
            )
        problems += check.blank_problem()
        problems.append(
            check.problem(
                f"NOT ({check.blank()}) AND ({v} IS NULL "
                f"OR {v} NOT BETWEEN DATE '1880-01-01' AND DATE '2199-12-31')",
                "DATE_INVALID",
                message(
                    h + ": ",
                    shown(src),
                    " is not a date (use YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY)",
                ),
            )
        )
    elif t == Type.VILLAGE:
        digits = f"regexp_replace(coalesce({src}, ''), '[.\\s]', '', 'g')"
        dotted = f"dotted_{n}"
        inter.append(
            (
                dotted,
                f"CASE WHEN regexp_full_match({digits}, '[0-9]{{10}}') THEN substr({digits}, 1, 2) "
                f"|| '.' || substr({digits}, 3, 2) || '.' || substr({digits}, 5, 2) || '.' || "
                f"substr({digits}, 7, 4) END",
            )
        )
        value = f"CASE WHEN {dotted} IN (SELECT code FROM ref_village) THEN {dotted} END"
        problems += check.blank_problem()
        problems.append(
            check.problem(
                f"NOT ({check.blank()}) AND {dotted} IS NULL",
                "VILLAGE_INVALID",
                message(
                    h + ": ", shown(src), " is not a village code (PP.RR.DD.VVVV or 10 digits)"
                ),
            )
        )
        problems.append(
            check.problem(
                f"{dotted} IS NOT NULL AND {dotted} NOT IN (SELECT code FROM ref_village)",
                "VILLAGE_UNKNOWN",
                message(
                    h + ": village ", dotted, " is not in the region tree (pesiar regions load)"
                ),
            )
        )
    elif t in (Type.SEGMENT, Type.STATUS, Type.REASON, Type.CLASS):
        values, code, what = {
            Type.SEGMENT: (
                SEGMENT_VALUES,
                "SEGMENT_UNKNOWN",
                "a JKN segment (PBI APBN, PBI APBD, PPU, PBPU, BP)",
            ),
            Type.STATUS: (STATUS_VALUES, "STATUS_UNKNOWN", "a participant status (AKTIF/NONAKTIF)"),
            Type.REASON: (
                REASON_VALUES,
                "REASON_UNKNOWN",
                "a known inactivity reason; read as OTHER",
            ),
            Type.CLASS: (CLASS_VALUES, "CLASS_INVALID", "a class (1, 2 or 3)"),
        }[t]
        value = vocabulary_case(src, values, quote_result=t != Type.CLASS)
        if t == Type.REASON:
            value = f"coalesce({value}, CASE WHEN NOT ({check.blank()}) THEN 'OTHER' END)"
            mapped = vocabulary_case(src, values)
        else:
            mapped = value
        problems += check.blank_problem()
        problems.append(
            check.problem(
                f"NOT ({check.blank()}) AND ({mapped}) IS NULL",
                code,
                message(h + ": ", shown(src), " is not " + what),
            )
        )
    elif t in (Type.INTEGER, Type.MONEY, Type.DECILE):
        cleaned = f"regexp_replace(coalesce({src}, ''), '(?i)rp|\\s', '', 'g')"
        if t == Type.MONEY:
            number = (
                f"CASE WHEN regexp_full_match({cleaned}, '[0-9]{{1,3}}([.,][0-9]{{3}})+') "
                f"THEN TRY_CAST(regexp_replace({cleaned}, '[.,]', '', 'g') AS BIGINT) "
                f"WHEN regexp_full_match({cleaned}, '[0-9]+([.,]0{{1,2}})?') "
                f"THEN TRY_CAST(regexp_extract({cleaned}, '^[0-9]+') AS BIGINT) END"
            )
        else:
            number = (
                f"CASE WHEN regexp_full_match({cleaned}, '[0-9]+(\\.0+)?') "
                f"THEN TRY_CAST(regexp_extract({cleaned}, '^[0-9]+') AS BIGINT) END"
            )
        if t == Type.DECILE:
            value = f"CAST(CASE WHEN ({number}) BETWEEN 1 AND 10 THEN ({number}) END AS TINYINT)"
            code, what = "DECILE_INVALID", "a welfare decile (1 to 10)"
        else:
            value = number
            code, what = "NUMBER_INVALID", "a whole number"
        problems += check.blank_problem()
        problems.append(
            check.problem(
                f"NOT ({check.blank()}) AND ({value}) IS NULL",
                code,
                message(h + ": ", shown(src), " is not " + what),
            )
        )
    else:  # pragma: no cover - every Type is handled above
        raise AssertionError(t)
    return inter, value, problems


def nik_date_problems(check, d, as_of_int, inter, helpers) -> list[str]:
    """Birth date and serial inside a 16-digit NIK; consistency with the row's sex and birth
    date. The century follows `pesiar.regions.nik` (recorded birth date, then as_of)."""
    n, h = check.name, check.header
    dd, mm, yy = f"dd_{n}", f"mm_{n}", f"yy_{n}"
    inter += [
        (dd, f"CAST(substr({d}, 7, 2) AS INTEGER)"),
        (mm, f"CAST(substr({d}, 9, 2) AS INTEGER)"),
        (yy, f"CAST(substr({d}, 11, 2) AS INTEGER)"),
    ]
    nsex, day = f"nsex_{n}", f"day_{n}"
    inter += [
        (
            nsex,
            f"CASE WHEN {dd} BETWEEN 1 AND 31 THEN 'L' WHEN {dd} BETWEEN 41 AND 71 THEN 'P' END",
        ),
        (day, f"CASE WHEN {dd} > 40 THEN {dd} - 40 ELSE {dd} END"),
    ]
    recorded = helpers.get("birth_date") if n in ("nik", "child_nik") else None
    rec_year = (
        f"CASE WHEN {recorded} IS NOT NULL AND year({recorded}) % 100 = {yy} AND "
        f"year({recorded}) * 10000 + {mm} * 100 + {day} <= {as_of_int} THEN year({recorded}) END"
        if recorded
        else "NULL"
    )
    year = f"year_{n}"
    inter.append(
        (
            year,
            f"coalesce({rec_year}, CASE WHEN (2000 + {yy}) * 10000 + {mm} * 100 + {day} <= "
            f"{as_of_int} THEN 2000 + {yy} ELSE 1900 + {yy} END)",
        )
    )
    date_text = f"substr({d}, 7, 2) || '-' || substr({d}, 9, 2) || '-' || substr({d}, 11, 2)"
    problems = [
        check.problem(
            f"{d} IS NOT NULL AND ({nsex} IS NULL OR {mm} NOT BETWEEN 1 AND 12 "
            f"OR {day} > days_in({year}, {mm}))",
            "NIK_DATE_IMPOSSIBLE",
            f"{q(h + ': the NIK ')} || {d} || ' has birth date ' || {date_text} || "
            f"{q(', which is not a possible date')}",
        ),
        check.problem(
            f"{d} IS NOT NULL AND {nsex} IS NOT NULL AND {mm} BETWEEN 1 AND 12 AND "
            f"{day} <= days_in({year}, {mm}) AND {year} * 10000 + {mm} * 100 + {day} > {as_of_int}",
            "NIK_FUTURE_BIRTH",
            f"{q(h + ': the NIK ')} || {d} || ' has birth date ' || {date_text} || "
            f"{q(', which is after the snapshot date in either century')}",
        ),
        check.problem(
            f"substr({d}, 13, 4) = '0000'",
            "NIK_SERIAL_ZERO",
            message(h + ": the NIK ", d, " ends in serial 0000, which is never issued"),
        ),
    ]
    sex = helpers.get("sex") if n in ("nik", "child_nik") else None
    if sex:
        problems.append(
            check.problem(
                f"{nsex} IS NOT NULL AND {sex} IS NOT NULL AND {sex} <> {nsex}",
                "NIK_SEX_MISMATCH",
                f"{q(h + ': the NIK ')} || {d} || ' is a ' || CASE WHEN {nsex} = 'P' THEN "
                f"'woman''s' ELSE 'man''s' END || ' number, but the recorded sex is ' || {sex}",
            )
        )
    if recorded:
        problems.append(
            check.problem(
                f"{nsex} IS NOT NULL AND {mm} BETWEEN 1 AND 12 AND {recorded} IS NOT NULL AND "
                f"(day({recorded}) <> {day} OR month({recorded}) <> {mm} OR "
                f"year({recorded}) % 100 <> {yy})",
                "NIK_BIRTHDATE_MISMATCH",
                f"{q(h + ': the NIK ')} || {d} || ' has birth date ' || {date_text} || "
                f"', but the recorded birth date is ' || strftime({recorded}, '%Y-%m-%d')",
            )
        )
    return problems


def checked_sql(
    kind: Kind, sources: dict[str, tuple[str, str]], raw_columns: list[str], as_of: date
) -> str:
    """SELECT over table `raw` giving `line`, the raw columns, each canonical typed column,
    and `problems` (list of structs). `sources` maps canonical name -> (SQL expression over
    raw, header text for messages)."""
    register = REGISTERS[kind]
    layers: list[list[tuple[str, str]]] = [[], [], []]
    values: dict[str, str] = {}
    problem_exprs: list[str] = []
    # Sex and dates first: NIK checks compare against them.
    ordered = sorted(
        (c for c in register.columns if c.name in sources),
        key=lambda c: 0 if c.type in (Type.SEX, Type.DATE) else 1,
    )
    helpers: dict[str, str] = {}
    for column in ordered:
        src, header = sources[column.name]
        check = Check(column, src, header, kind, as_of)
        inter, value, problems = column_sql(check, helpers)
        layer = 0 if column.type in (Type.SEX, Type.DATE) else 1
        layers[layer].extend(inter)
        alias = f"t_{column.name}"
        if layer == 0:
            layers[0].append((alias, value))
            if column.name in ("sex", "birth_date"):
                helpers[column.name] = alias
        values[column.name] = value if layer == 1 else alias
        problem_exprs.extend(problems)
    # Build nested SELECTs so that later expressions can use earlier aliases.
    raw_list = ", ".join(["line", *raw_columns])
    sql = f"SELECT {raw_list} FROM raw"
    carried = ["line", *raw_columns]
    for layer in layers[:2]:
        if not layer:
            continue
        exprs = ", ".join(f"{expr} AS {alias}" for alias, expr in layer)
        sql = f"SELECT *, {exprs} FROM ({sql})"
        carried += [alias for alias, _ in layer]
    typed = ", ".join(f"{values[c.name]} AS {c.name}" for c in ordered)
    absent = ", ".join(
        f"NULL::{sql_type(c)} AS {c.name}" for c in register.columns if c.name not in sources
    )
    problems = "list_filter([" + ", ".join(problem_exprs) + "], lambda p: p IS NOT NULL)"
    select = ", ".join(x for x in (f"line, {', '.join(raw_columns)}", typed, absent) if x)
    return f"SELECT {select}, {problems} AS problems FROM ({sql})"


def sql_type(column: Column) -> str:
    return {
        Type.DATE: "DATE",
        Type.CLASS: "INTEGER",
        Type.INTEGER: "BIGINT",
        Type.MONEY: "BIGINT",
        Type.DECILE: "TINYINT",
    }.get(column.type, "VARCHAR")

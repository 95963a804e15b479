"""Row validation in SQL (DuckDB): each source value becomes a typed canonical value and a
list of problems {code, column, severity, message}; a row with an error is rejected.

The NIK/KK/Noka shape of a value that is not already plain digits is decided by
`pesiar.regions.nik.classify` (registered as a DuckDB function), so the SQL and the Python
rules cannot drift apart; region, date and serial checks run in SQL for every value.
"""

from datetime import date

import duckdb

from pesiar.ops.duck import sql_text
from pesiar.regions import builtin, changes, nik
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
    # A NIK records where it was first issued, not a region that must exist today.
    "NIK_REGION_UNKNOWN",
    "NIK_REGION_RETIRED",
    "KK_REGION_UNKNOWN",
    "KK_REGION_RETIRED",
}
# Cell values that mean "not known" in village systems and spreadsheets; read as empty.
UNKNOWN_WORDS = (
    "-",
    "--",
    "null",
    "NULL",
    "Null",
    "Tdk Th",
    "TDK TH",
    "tdk th",
    "Tidak Tahu",
    "TIDAK TAHU",
    "n/a",
    "N/A",
    "#N/A",
)
# ... and, where a zero cannot be a value (identifiers, dates, sex, village), also "0".
ZERO_IS_UNKNOWN = frozenset({"nik", "kk", "noka", "date", "sex", "village"})
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
    "L": ("L", "LAKILAKI", "LAKI", "PRIA", "M", "MALE", "1", "LK"),
    "P": ("P", "PEREMPUAN", "WANITA", "F", "FEMALE", "W", "2", "PR"),
}
LIFE_VALUES = {
    "ALIVE": ("HIDUP", "ALIVE", "AKTIF"),
    "DECEASED": ("MATI", "MENINGGAL", "MENINGGALDUNIA", "WAFAT", "DECEASED"),
    "MOVED": ("PINDAH", "PINDAHDALAMNEGERI", "PINDAHLUARNEGERI", "PINDAHKELUAR", "MOVED"),
    "MISSING": ("HILANG", "MISSING"),
    "LEFT": ("PERGI", "LEFT"),
    "INVALID": ("TIDAKVALID", "INVALID"),
}
FLAG_VALUES = {
    "true": ("YA", "Y", "1", "TRUE", "BENAR"),
    "false": ("TIDAK", "T", "0", "FALSE", "N", "SALAH"),
}
SEGMENT_VALUES = {
    "PBI_APBN": ("PBIAPBN", "PBIJK", "PBI", "PBIPUSAT", "PBINASIONAL"),
    "PBI_APBD": (
        "PBIAPBD",
        "PBPUPEMDA",
        "PBIDAERAH",
        "PBIPEMDA",
        "PBPUBPPEMDA",
        "PENDUDUKYANGDIDAFTARKANOLEHPEMDA",
    ),
    "PPU": (
        "PPU",
        "PPUPN",
        "PPUBU",
        "PEKERJAPENERIMAUPAH",
        "PPUPNS",
        "PPUSWASTA",
        "PNSDAERAH",
        "PNSPUSAT",
        "PEGAWAISWASTA",
        "PEGAWAIPEMERINTAHNONPEGAWAINEGERI",
        "PPNPN",
        "TNIAD",
        "TNIAL",
        "TNIAU",
        "POLRI",
        "PEJABATNEGARA",
        "KEPALADESAPERANGKATDESA",
    ),
    "PBPU": (
        "PBPU",
        "MANDIRI",
        "PBPUMANDIRI",
        "PEKERJABUKANPENERIMAUPAH",
        "PBPUBP",
        "PEKERJAMANDIRI",
    ),
    "BP": (
        "BP",
        "BUKANPEKERJA",
        "BPMANDIRI",
        "PENERIMAPENSIUN",
        "PENERIMAPENSIUNPNS",
        "INVESTOR",
        "PEMBERIKERJA",
        "VETERAN",
        "PERINTISKEMERDEKAAN",
    ),
}
STATUS_VALUES = {
    "ACTIVE": ("AKTIF", "ACTIVE", "A", "1", "Y", "YA", "TRUE"),
    "INACTIVE": (
        "NONAKTIF",
        "TIDAKAKTIF",
        "INACTIVE",
        "NONACTIVE",
        "NA",
        "0",
        "N",
        "TIDAK",
        "FALSE",
    ),
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


def guess_date_format(values: list[str]) -> str:
    """The format in DATE_FORMATS that reads most of `values` (a sample of one column)."""
    from datetime import datetime

    def reads(fmt: str) -> int:
        count = 0
        for value in values:
            try:
                datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
            count += 1
        return count

    return max(DATE_FORMATS, key=reads)


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


q = sql_text  # short, for the many literals below


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


def vocabulary_case(k: str, values: dict, quote_result: bool = True) -> str:
    """CASE mapping a vocabulary key (see `key`) onto its canonical value."""
    whens = " ".join(
        f"WHEN {k} IN ({', '.join(q(v) for v in variants)}) THEN "
        f"{q(canonical) if quote_result else canonical}"
        for canonical, variants in values.items()
    )
    return f"CASE {whens} END"


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
    is its own SELECT over the one below (see checked_tables for why some are materialised).
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


def column_sql(check: Check, source: str, helpers: dict[str, str]) -> None:
    """Fill `check` with the SQL for its column read from `source` (SQL over the raw row).

    `helpers` gives the typed sex and birth date of the same row, when the register has them.
    """
    c, t, n, h = check.column, check.column.type, check.name, check.header
    if t in (Type.TEXT, Type.CODE):  # free text is kept as written
        src = check.add(0, check.src, source)
    else:
        words = UNKNOWN_WORDS + (("0",) if t in ZERO_IS_UNKNOWN else ())
        unknown = ", ".join(q(w) for w in words)
        src = check.add(
            0, check.src, f"CASE WHEN {source} IN ({unknown}) THEN NULL ELSE {source} END"
        )
    as_of_iso = check.as_of.isoformat()

    if t in ID_LENGTH:
        length, prefix = ID_LENGTH[t], ID_PREFIX[t]
        label = {"NIK": "NIK", "KK": "KK number", "NOKA": "JKN card number (Noka)"}[prefix]
        s = check.add(
            1,
            f"s_{n}",
            f"CASE WHEN regexp_full_match({src}, '[0-9]+') THEN {src} ELSE id_classify({src}) END",
        )
        d = check.add(
            2,
            check.value,
            f"CASE WHEN {s} LIKE 'E:%' OR length({s}) <> {length} THEN NULL ELSE {s} END",
        )
        if not c.blank_ok:
            check.problem(f"{s} = 'E:BLANK'", f"{prefix}_BLANK", q(f"{h}: the {label} is empty"))
        check.problem(
            f"{s} = 'E:EXCEL_PRECISION'",
            f"{prefix}_EXCEL_PRECISION",
            message(
                f"{h}: the {label} ",
                shown(src),
                " was stored in a spreadsheet number cell, which keeps only 15 digits, so its "
                "last digit was lost; format the column as text and re-export",
            ),
        )
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
        check.problem(
            f"{s} = 'E:CHARACTERS'",
            f"{prefix}_CHARACTERS",
            message(f"{h}: the {label} ", shown(src), " contains characters other than digits"),
        )
        check.problem(
            f"{s} NOT LIKE 'E:%' AND length({s}) <> {length}",
            f"{prefix}_LENGTH",
            message(
                f"{h}: the {label} ",
                f"{shown(src)} || ' has ' || length({s})",
                f" digits instead of {length}",
            ),
        )
        if t in (Type.NIK, Type.KK):
            regency = check.add(3, f"regency_{n}", f"substr({d}, 1, 4) IN (FROM ref_regency)")
            district = check.add(3, f"district_{n}", f"substr({d}, 1, 6) IN (FROM ref_district)")
            retired = changes.regency_changes()
            retired_list = ", ".join(q(code.replace(".", "")) for code in retired) or "''"
            was = check.add(3, f"retired_{n}", f"substr({d}, 1, 4) IN ({retired_list})")
            described = (
                "CASE substr("
                + d
                + ", 1, 4) "
                + " ".join(
                    f"WHEN {q(code.replace('.', ''))} THEN {q(changes.describe(change))}"
                    for code, change in retired.items()
                )
                + " END"
                if retired
                else "''"
            )
            check.problem(
                f"{d} IS NOT NULL AND NOT {regency} AND {was}",
                f"{prefix}_REGION_RETIRED",
                message(f"{h}: the {label} ", f"{d} || ' was ' || {described}", ""),
            )
            check.problem(
                f"{d} IS NOT NULL AND NOT {regency} AND NOT {was}",
                f"{prefix}_REGION_UNKNOWN",
                message(
                    f"{h}: the {label} ",
                    f"{d} || ' starts with ' || substr({d}, 1, 2) || '.' || substr({d}, 3, 2)",
                    ", which is not a known regency or city (kept: a NIK records where it "
                    "was first issued)",
                ),
            )
            check.problem(
                f"{d} IS NOT NULL AND {regency} AND NOT {district}",
                f"{prefix}_DISTRICT_UNKNOWN",
                message(
                    f"{h}: the {label} ",
                    d,
                    " names a district that is not in the current list (split or renumbered?)",
                ),
            )
        if t == Type.KK:
            check.problem(
                f"substr({d}, 7, 6) = '000000'",
                "KK_ISSUE_DATE_ZERO",
                message(f"{h}: the KK number ", d, " has an all-zero issue date"),
            )
        if t == Type.NIK:
            nik_date_problems(check, d, helpers)
    elif t in (Type.TEXT, Type.CODE):
        value = f"nullif(trim({src}), '')"
        check.add(1, check.value, f"upper({value})" if t == Type.CODE else value)
        check.blank_problem()
    elif t == Type.DATE:
        tr = check.add(1, f"tr_{n}", f"trim({src})")
        # The file's own format first (one format is cheap, a list of ten is not); then an
        # Excel serial day number, then every common form.
        main = check.add(
            2, f"main_{n}", f"CAST(try_strptime({tr}, {q(check.date_format)}) AS DATE)"
        )
        formats = "[" + ", ".join(q(f) for f in DATE_FORMATS) + "]"
        serial = f"TRY_CAST(split_part({tr}, '.', 1) AS INTEGER)"
        v = check.add(
            3,
            f"v_{n}",
            f"CASE WHEN {main} IS NOT NULL THEN {main} "
            f"WHEN regexp_full_match({tr}, '[0-9]{{1,5}}(\\.0+)?') "
            f"AND {serial} BETWEEN 1 AND 109573 THEN DATE '1899-12-30' + {serial} "
            f"ELSE CAST(try_strptime({tr}, {formats}) AS DATE) END",
        )
        in_range = f"{v} BETWEEN DATE '1880-01-01' AND DATE '2199-12-31'"
        if n in ("birth_date", "death_date", "layoff_date"):
            check.add(
                4, check.value, f"CASE WHEN {in_range} AND {v} <= DATE '{as_of_iso}' THEN {v} END"
            )
            check.problem(
                f"{v} > DATE '{as_of_iso}' AND {in_range}",
                "DATE_FUTURE",
                message(f"{h}: ", shown(src), f" is after the snapshot date {as_of_iso}"),
            )
        else:
            check.add(4, check.value, f"CASE WHEN {in_range} THEN {v} END")
        check.blank_problem()
        check.invalid(
            "DATE_INVALID",
            f"{v} IS NULL OR NOT ({in_range})",
            "a date (YYYY-MM-DD, DD-MM-YYYY, DD/MM/YYYY)",
        )
    elif t == Type.VILLAGE:
        # Already dotted: as is; otherwise spaces and dots go, and ten digits get dots.
        dotted_form = "[0-9]{2}[.][0-9]{2}[.][0-9]{2}[.][0-9]{4}"
        digits = check.add(
            1,
            f"digits_{n}",
            f"CASE WHEN regexp_full_match(coalesce({src}, ''), '{dotted_form}') THEN {src} "
            f"ELSE regexp_replace(coalesce({src}, ''), '[.\\s]', '', 'g') END",
        )
        dotted = check.add(
            2,
            f"dotted_{n}",
            f"CASE WHEN regexp_full_match({digits}, '{dotted_form}') THEN {digits} "
            f"WHEN regexp_full_match({digits}, '[0-9]{{10}}') THEN substr({digits}, 1, 2) "
            f"|| '.' || substr({digits}, 3, 2) || '.' || substr({digits}, 5, 2) || '.' || "
            f"substr({digits}, 7, 4) END",
        )
        known = check.add(3, f"known_{n}", f"{dotted} IN (FROM ref_village)")
        check.add(4, check.value, f"CASE WHEN {known} THEN {dotted} END")
        check.blank_problem()
        check.invalid(
            "VILLAGE_INVALID", f"{dotted} IS NULL", "a village code (PP.RR.DD.VVVV, 10 digits)"
        )
        check.problem(
            f"{dotted} IS NOT NULL AND NOT {known}",
            "VILLAGE_UNKNOWN",
            message(f"{h}: village ", dotted, " is not in the region tree (pesiar regions load)"),
        )
        # a row of another region is never imported by someone responsible for this one
        check.problem(
            f"{dotted} IS NOT NULL AND NOT in_import_scope({dotted})",
            "OUT_OF_SCOPE",
            message(f"{h}: village ", dotted, " lies outside the region this file is imported for"),
            severity=ERROR,
        )
    elif t in VOCABULARIES:
        values, code, what = VOCABULARIES[t]
        # Exact spellings first; the letters-and-digits key only for the rest.
        up = check.add(1, f"upper_{n}", f"upper(trim({src}))")
        quote = t not in (Type.CLASS, Type.FLAG)
        mapped = check.add(
            2,
            f"mapped_{n}",
            f"coalesce({vocabulary_case(up, values, quote)}, "
            f"{vocabulary_case(key(up), values, quote)})",
        )
        if t == Type.REASON:  # any other text is kept as OTHER, with a warning
            check.add(
                3,
                check.value,
                f"CASE WHEN NOT {check.is_blank} THEN coalesce({mapped}, 'OTHER') END",
            )
        else:
            check.add(3, check.value, mapped)
        check.blank_problem()
        check.invalid(code, f"{mapped} IS NULL", what)
    elif t == Type.DECIMAL:
        text = check.add(1, f"dec_{n}", f"replace(trim({src}), ',', '.')")
        value = check.add(2, check.value, f"TRY_CAST({text} AS DOUBLE)")
        check.blank_problem()
        check.invalid("NUMBER_INVALID", f"{value} IS NULL", "a number (1.5 or 1,5)")
    elif t in (Type.INTEGER, Type.MONEY, Type.DECILE):
        cl = check.add(
            1, f"clean_{n}", f"regexp_replace(coalesce({src}, ''), '(?i)rp|\\s', '', 'g')"
        )
        if t == Type.MONEY:
            number = (
                f"CASE WHEN regexp_full_match({cl}, '[0-9]{{1,3}}([.,][0-9]{{3}})+') "
                f"THEN TRY_CAST(regexp_replace({cl}, '[.,]', '', 'g') AS BIGINT) "
                f"WHEN regexp_full_match({cl}, '[0-9]+([.,]0{{1,2}})?') "
                f"THEN TRY_CAST(regexp_extract({cl}, '^[0-9]+') AS BIGINT) END"
            )
        else:
            number = (
                f"CASE WHEN regexp_full_match({cl}, '[0-9]+(\\.0+)?') "
                f"THEN TRY_CAST(regexp_extract({cl}, '^[0-9]+') AS BIGINT) END"
            )
        num = check.add(2, f"num_{n}", number)
        if t == Type.DECILE:
            value = check.add(
                3, check.value, f"CAST(CASE WHEN {num} BETWEEN 1 AND 10 THEN {num} END AS TINYINT)"
            )
            code, what = "DECILE_INVALID", "a welfare decile (1 to 10)"
        else:
            value = check.add(3, check.value, num)
            code, what = "NUMBER_INVALID", "a whole number"
        check.blank_problem()
        check.invalid(code, f"{value} IS NULL", what)
    else:  # pragma: no cover - every Type is handled above
        raise AssertionError(t)


VOCABULARIES = {
    Type.SEX: (SEX_VALUES, "SEX_INVALID", "a sex (L/P, LAKI-LAKI/PEREMPUAN, 1/2, M/F)"),
    Type.SEGMENT: (
        SEGMENT_VALUES,
        "SEGMENT_UNKNOWN",
        "a JKN segment (PBI APBN, PBI APBD, PPU, PBPU, BP)",
    ),
    Type.STATUS: (STATUS_VALUES, "STATUS_UNKNOWN", "a participant status (AKTIF/NONAKTIF)"),
    Type.REASON: (REASON_VALUES, "REASON_UNKNOWN", "a known inactivity reason; read as OTHER"),
    Type.CLASS: (CLASS_VALUES, "CLASS_INVALID", "a class (1, 2 or 3)"),
    Type.LIFE: (
        LIFE_VALUES,
        "LIFE_STATUS_UNKNOWN",
        "a basic status (HIDUP, MATI, PINDAH, HILANG, PERGI, TIDAK VALID)",
    ),
    Type.FLAG: (FLAG_VALUES, "FLAG_INVALID", "Ya or Tidak"),
}


def nik_date_problems(check: Check, d: str, helpers: dict[str, str]) -> None:
    """Birth date and serial inside a 16-digit NIK; consistency with the row's sex and birth
    date. The century follows `pesiar.regions.nik` (recorded birth date, then as_of)."""
    n, h = check.name, check.header
    as_of_int = check.as_of.year * 10000 + check.as_of.month * 100 + check.as_of.day
    dd = check.add(3, f"dd_{n}", f"CAST(substr({d}, 7, 2) AS INTEGER)")
    mm = check.add(3, f"mm_{n}", f"CAST(substr({d}, 9, 2) AS INTEGER)")
    yy = check.add(3, f"yy_{n}", f"CAST(substr({d}, 11, 2) AS INTEGER)")
    nsex = check.add(
        4,
        f"nsex_{n}",
        f"CASE WHEN {dd} BETWEEN 1 AND 31 THEN 'L' WHEN {dd} BETWEEN 41 AND 71 THEN 'P' END",
    )
    day = check.add(4, f"day_{n}", f"CASE WHEN {dd} > 40 THEN {dd} - 40 ELSE {dd} END")
    recorded = helpers.get("birth_date") if n in ("nik", "child_nik") else None
    rec_year = (
        f"CASE WHEN {recorded} IS NOT NULL AND year({recorded}) % 100 = {yy} AND "
        f"year({recorded}) * 10000 + {mm} * 100 + {day} <= {as_of_int} THEN year({recorded}) END"
        if recorded
        else "NULL"
    )
    year = check.add(
        5,
        f"year_{n}",
        f"coalesce({rec_year}, CASE WHEN (2000 + {yy}) * 10000 + {mm} * 100 + {day} <= "
        f"{as_of_int} THEN 2000 + {yy} ELSE 1900 + {yy} END)",
    )
    date_text = f"substr({d}, 7, 2) || '-' || substr({d}, 9, 2) || '-' || substr({d}, 11, 2)"
    possible = f"{nsex} IS NOT NULL AND {mm} BETWEEN 1 AND 12 AND {day} <= days_in({year}, {mm})"
    check.problem(
        f"{d} IS NOT NULL AND NOT ({possible})",
        "NIK_DATE_IMPOSSIBLE",
        message(
            f"{h}: the NIK ",
            f"{d} || ' has birth date ' || {date_text}",
            ", which is not a possible date",
        ),
    )
    check.problem(
        f"{d} IS NOT NULL AND {possible} AND {year} * 10000 + {mm} * 100 + {day} > {as_of_int}",
        "NIK_FUTURE_BIRTH",
        message(
            f"{h}: the NIK ",
            f"{d} || ' has birth date ' || {date_text}",
            ", which is after the snapshot date in either century",
        ),
    )
    check.problem(
        f"substr({d}, 13, 4) = '0000'",
        "NIK_SERIAL_ZERO",
        message(f"{h}: the NIK ", d, " ends in serial 0000, which is never issued"),
    )
    sex = helpers.get("sex") if n in ("nik", "child_nik") else None
    if sex:
        check.problem(
            f"{nsex} IS NOT NULL AND {sex} IS NOT NULL AND {sex} <> {nsex}",
            "NIK_SEX_MISMATCH",
            message(
                f"{h}: the NIK ",
                f"{d} || ' is a ' || CASE WHEN {nsex} = 'P' THEN 'woman''s' ELSE 'man''s' END "
                f"|| ' number, but the recorded sex is ' || {sex}",
                "",
            ),
        )
    if recorded:
        check.problem(
            f"{nsex} IS NOT NULL AND {mm} BETWEEN 1 AND 12 AND {recorded} IS NOT NULL AND "
            f"(day({recorded}) <> {day} OR month({recorded}) <> {mm} OR "
            f"year({recorded}) % 100 <> {yy})",
            "NIK_BIRTHDATE_MISMATCH",
            message(
                f"{h}: the NIK ",
                f"{d} || ' has birth date ' || {date_text} || "
                f"', but the recorded birth date is ' || strftime({recorded}, '%Y-%m-%d')",
                "",
            ),
        )


# Levels up to this one are materialised before the rest is computed (see checked_tables).
MATERIALISED_LEVEL = 1


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


def _stack(sql: str, levels: dict[int, list[str]], wanted) -> str:
    """Each level its own SELECT over the one below."""
    for level in sorted(levels):
        if wanted(level):
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
    sql = _stack(f"SELECT k, {', '.join(raw_columns)} FROM {relation}", levels, lambda _: True)
    conditions, outputs = _outputs(kind, sources, present, found, messages=True)
    if conditions:
        sql = f"SELECT *, {conditions} FROM ({sql})"
    return f"SELECT {', '.join(['k', *raw_columns, *outputs])} FROM ({sql})"


def checked_tables(
    kind: Kind,
    sources: dict[str, tuple[str, str]],
    raw_columns: list[str],
    as_of: date,
    relation: str,
    date_formats: dict[str, str] | None = None,
) -> list[str]:
    """Statements that build table `checked` (k, h: hash of the raw row, the typed columns,
    `errors` and `warnings`: lists of codes) for every row of `relation`.

    DuckDB inlines an alias wherever it is used, so a long chain of aliases would be
    recomputed many times over; the normalised values (levels up to MATERIALISED_LEVEL)
    are therefore materialised first, in table `normalised`.
    """
    present, levels, found = _plan(kind, sources, as_of, date_formats)
    cols = ", ".join(raw_columns)
    first = _stack(
        f"SELECT k, {cols} FROM {relation}", levels, lambda level: level <= MATERIALISED_LEVEL
    )
    drop = [cols] + [f"src_{c.name}" for c in present]
    conditions, outputs = _outputs(kind, sources, present, found, messages=False)
    second = _stack("SELECT * FROM normalised", levels, lambda level: level > MATERIALISED_LEVEL)
    if conditions:
        second = f"SELECT *, {conditions} FROM ({second})"
    return [
        f"CREATE TEMP TABLE normalised AS SELECT * EXCLUDE ({', '.join(drop)}), "
        f"hash({cols}) AS h FROM ({first})",
        f"CREATE TEMP TABLE checked AS SELECT {', '.join(['k', 'h', *outputs])} FROM ({second})",
        "DROP TABLE normalised",
    ]


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

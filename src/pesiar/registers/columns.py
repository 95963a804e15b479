"""The SQL of each column type, one small function per type (`COLUMN_SQL`): from the raw
text to the typed value and the problems a value can have.

Each function receives the `Check` of its column, the alias of the raw value with the words
that mean "not known" already read as empty, and `helpers` (the typed sex and birth date of
the same row, when the register has them).
"""

from collections.abc import Callable

from pesiar.registers.checks import ERROR, Check, message, q, shown, vocabulary_lookup
from pesiar.registers.identifiers import identifier_sql
from pesiar.registers.schema import Type
from pesiar.registers.spellings import DATE_FORMATS, UNKNOWN_WORDS, VOCABULARIES, ZERO_IS_UNKNOWN

ColumnSql = Callable[[Check, str, dict[str, str]], None]
KEPT_AS_WRITTEN = (Type.TEXT, Type.CODE)  # free text: no word means "not known"
# Dates that cannot lie after the snapshot date.
PAST_DATES = ("birth_date", "death_date", "layoff_date")
DOTTED_VILLAGE = "[0-9]{2}[.][0-9]{2}[.][0-9]{2}[.][0-9]{4}"


def column_sql(check: Check, source: str, helpers: dict[str, str]) -> None:
    """Fill `check` with the SQL for its column read from `source` (SQL over the raw row)."""
    t = check.column.type
    if t in KEPT_AS_WRITTEN:
        src = check.add(0, check.src, source)
    else:
        # The source (a village code from its parts, a format's codes) is computed a level
        # below, once, since the test for "not known" below mentions it twice.
        source = check.add(-1, f"in_{check.name}", source)
        words = UNKNOWN_WORDS + (("0",) if t in ZERO_IS_UNKNOWN else ())
        unknown = ", ".join(q(w) for w in words)
        src = check.add(
            0, check.src, f"CASE WHEN {source} IN ({unknown}) THEN NULL ELSE {source} END"
        )
    COLUMN_SQL[t](check, src, helpers)


def text_sql(check: Check, src: str, helpers: dict[str, str]) -> None:
    """Text as written (trimmed); codes upper-cased."""
    value = f"nullif(trim({src}), '')"
    check.add(1, check.value, f"upper({value})" if check.column.type == Type.CODE else value)
    check.blank_problem()


def date_sql(check: Check, src: str, helpers: dict[str, str]) -> None:
    """The file's own format first (one format is cheap, a list of ten is not); then an
    Excel serial day number, then every common form."""
    n, h, as_of_iso = check.name, check.header, check.as_of.isoformat()
    tr = check.add(1, f"tr_{n}", f"trim({src})")
    main = check.add(2, f"main_{n}", f"CAST(try_strptime({tr}, {q(check.date_format)}) AS DATE)")
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
    if n in PAST_DATES:
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


def village_sql(check: Check, src: str, helpers: dict[str, str]) -> None:
    """Already dotted: as is; otherwise spaces and dots go, and ten digits get dots. The
    village must be in the region tree and inside the region the file is imported for."""
    n, h = check.name, check.header
    digits = check.add(
        1,
        f"digits_{n}",
        f"CASE WHEN regexp_full_match(coalesce({src}, ''), '{DOTTED_VILLAGE}') THEN {src} "
        f"ELSE regexp_replace(coalesce({src}, ''), '[.\\s]', '', 'g') END",
    )
    dotted = check.add(
        2,
        f"dotted_{n}",
        f"CASE WHEN regexp_full_match({digits}, '{DOTTED_VILLAGE}') THEN {digits} "
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


def vocabulary_sql(check: Check, src: str, helpers: dict[str, str]) -> None:
    """Exact spellings first; the letters-and-digits key only for the rest. An inactive
    reason in other words is kept as OTHER, with a warning."""
    t, n = check.column.type, check.name
    values, code, what = VOCABULARIES[t]
    up = check.add(1, f"upper_{n}", f"upper(trim({src}))")
    quote = t not in (Type.CLASS, Type.FLAG)
    mapped = check.add(2, f"mapped_{n}", vocabulary_lookup(up, values, quote))
    if t == Type.REASON:
        check.add(
            3, check.value, f"CASE WHEN NOT {check.is_blank} THEN coalesce({mapped}, 'OTHER') END"
        )
    else:
        check.add(3, check.value, mapped)
    check.blank_problem()
    check.invalid(code, f"{mapped} IS NULL", what)


def decimal_sql(check: Check, src: str, helpers: dict[str, str]) -> None:
    """1.5 or 1,5 (e-PPGBM writes comma decimals)."""
    text = check.add(1, f"dec_{check.name}", f"replace(trim({src}), ',', '.')")
    value = check.add(2, check.value, f"TRY_CAST({text} AS DOUBLE)")
    check.blank_problem()
    check.invalid("NUMBER_INVALID", f"{value} IS NULL", "a number (1.5 or 1,5)")


def _cleaned(check: Check, src: str) -> str:
    """The value without spaces and a Rp prefix."""
    return check.add(
        1, f"clean_{check.name}", f"regexp_replace(coalesce({src}, ''), '(?i)rp|\\s', '', 'g')"
    )


def _whole_number(cl: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({cl}, '[0-9]+(\\.0+)?') "
        f"THEN TRY_CAST(regexp_extract({cl}, '^[0-9]+') AS BIGINT) END"
    )


def integer_sql(check: Check, src: str, helpers: dict[str, str]) -> None:
    """A whole number (a spreadsheet's 7.0 is 7)."""
    num = check.add(2, f"num_{check.name}", _whole_number(_cleaned(check, src)))
    value = check.add(3, check.value, num)
    check.blank_problem()
    check.invalid("NUMBER_INVALID", f"{value} IS NULL", "a whole number")


def money_sql(check: Check, src: str, helpers: dict[str, str]) -> None:
    """Rupiah: 1.250.000, 1,250,000 or 1250000(.00), with or without Rp."""
    cl = _cleaned(check, src)
    number = (
        f"CASE WHEN regexp_full_match({cl}, '[0-9]{{1,3}}([.,][0-9]{{3}})+') "
        f"THEN TRY_CAST(regexp_replace({cl}, '[.,]', '', 'g') AS BIGINT) "
        f"WHEN regexp_full_match({cl}, '[0-9]+([.,]0{{1,2}})?') "
        f"THEN TRY_CAST(regexp_extract({cl}, '^[0-9]+') AS BIGINT) END"
    )
    num = check.add(2, f"num_{check.name}", number)
    value = check.add(3, check.value, num)
    check.blank_problem()
    check.invalid("NUMBER_INVALID", f"{value} IS NULL", "a whole number")


def decile_sql(check: Check, src: str, helpers: dict[str, str]) -> None:
    """A welfare decile, 1 to 10."""
    num = check.add(2, f"num_{check.name}", _whole_number(_cleaned(check, src)))
    value = check.add(
        3, check.value, f"CAST(CASE WHEN {num} BETWEEN 1 AND 10 THEN {num} END AS TINYINT)"
    )
    check.blank_problem()
    check.invalid("DECILE_INVALID", f"{value} IS NULL", "a welfare decile (1 to 10)")


COLUMN_SQL: dict[Type, ColumnSql] = {
    Type.NIK: identifier_sql,
    Type.KK: identifier_sql,
    Type.NOKA: identifier_sql,
    Type.TEXT: text_sql,
    Type.CODE: text_sql,
    Type.DATE: date_sql,
    Type.VILLAGE: village_sql,
    **dict.fromkeys(VOCABULARIES, vocabulary_sql),
    Type.DECIMAL: decimal_sql,
    Type.INTEGER: integer_sql,
    Type.MONEY: money_sql,
    Type.DECILE: decile_sql,
}
assert set(COLUMN_SQL) == set(Type), "every column type has its SQL"

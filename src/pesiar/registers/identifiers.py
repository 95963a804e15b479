"""Checks of NIK, KK and Noka columns: the shape of the number (as spreadsheets damage it),
the region it was issued in (a warning only: a NIK records where it was first issued, not a
region that must exist today), and the birth date and serial inside a NIK.
"""

from pesiar.regions import changes
from pesiar.registers.checks import Check, message, q, shown
from pesiar.registers.schema import Type

ID_LENGTH = {Type.NIK: 16, Type.KK: 16, Type.NOKA: 13}
ID_PREFIX = {Type.NIK: "NIK", Type.KK: "KK", Type.NOKA: "NOKA"}
ID_LABEL = {Type.NIK: "NIK", Type.KK: "KK number", Type.NOKA: "JKN card number (Noka)"}


def identifier_sql(check: Check, src: str, helpers: dict[str, str]) -> None:
    """A 16-digit NIK or KK, or a 13-digit Noka: digits as they are, anything else read by
    `id_classify` (E:<reason> when it cannot be a number)."""
    t = check.column.type
    s = check.add(
        1,
        f"s_{check.name}",
        f"CASE WHEN regexp_full_match({src}, '[0-9]+') THEN {src} ELSE id_classify({src}) END",
    )
    d = check.add(
        2,
        check.value,
        f"CASE WHEN {s} LIKE 'E:%' OR length({s}) <> {ID_LENGTH[t]} THEN NULL ELSE {s} END",
    )
    shape_problems(check, src, s)
    if t in (Type.NIK, Type.KK):
        region_problems(check, d)
    if t == Type.KK:
        check.problem(
            f"substr({d}, 7, 6) = '000000'",
            "KK_ISSUE_DATE_ZERO",
            message(f"{check.header}: the KK number ", d, " has an all-zero issue date"),
        )
    if t == Type.NIK:
        nik_date_problems(check, d, helpers)
        nik_consistency_problems(check, d, helpers)


def shape_problems(check: Check, src: str, s: str) -> None:
    """Blank, damaged by a spreadsheet, not digits, or the wrong length."""
    t, h = check.column.type, check.header
    length, prefix, label = ID_LENGTH[t], ID_PREFIX[t], ID_LABEL[t]
    if not check.column.blank_ok:
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


def _retired_description(d: str, retired: dict) -> str:
    """SQL naming the change of a retired regency code ("91.01 Merauke, now 93.01")."""
    if not retired:
        return "''"
    whens = " ".join(
        f"WHEN {q(code.replace('.', ''))} THEN {q(changes.describe(change))}"
        for code, change in retired.items()
    )
    return f"CASE substr({d}, 1, 4) {whens} END"


def region_problems(check: Check, d: str) -> None:
    """The regency and district a NIK or KK was issued in: retired, unknown, or a district
    not in the current list. Warnings: the number stays the person's."""
    n, h = check.name, check.header
    prefix, label = ID_PREFIX[check.column.type], ID_LABEL[check.column.type]
    regency = check.add(3, f"regency_{n}", f"substr({d}, 1, 4) IN (FROM ref_regency)")
    district = check.add(3, f"district_{n}", f"substr({d}, 1, 6) IN (FROM ref_district)")
    retired = changes.regency_changes()
    retired_list = ", ".join(q(code.replace(".", "")) for code in retired) or "''"
    was = check.add(3, f"retired_{n}", f"substr({d}, 1, 4) IN ({retired_list})")
    check.problem(
        f"{d} IS NOT NULL AND NOT {regency} AND {was}",
        f"{prefix}_REGION_RETIRED",
        message(f"{h}: the {label} ", f"{d} || ' was ' || {_retired_description(d, retired)}", ""),
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


def _nik_date_text(d: str) -> str:
    return f"substr({d}, 7, 2) || '-' || substr({d}, 9, 2) || '-' || substr({d}, 11, 2)"


def nik_date_problems(check: Check, d: str, helpers: dict[str, str]) -> None:
    """The birth date and serial inside a 16-digit NIK. The century follows
    `pesiar.regions.nik` (the recorded birth date, then as_of)."""
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
    possible = f"{nsex} IS NOT NULL AND {mm} BETWEEN 1 AND 12 AND {day} <= days_in({year}, {mm})"
    born = f"{d} || ' has birth date ' || {_nik_date_text(d)}"
    check.problem(
        f"{d} IS NOT NULL AND NOT ({possible})",
        "NIK_DATE_IMPOSSIBLE",
        message(f"{h}: the NIK ", born, ", which is not a possible date"),
    )
    check.problem(
        f"{d} IS NOT NULL AND {possible} AND {year} * 10000 + {mm} * 100 + {day} > {as_of_int}",
        "NIK_FUTURE_BIRTH",
        message(f"{h}: the NIK ", born, ", which is after the snapshot date in either century"),
    )
    check.problem(
        f"substr({d}, 13, 4) = '0000'",
        "NIK_SERIAL_ZERO",
        message(f"{h}: the NIK ", d, " ends in serial 0000, which is never issued"),
    )


def nik_consistency_problems(check: Check, d: str, helpers: dict[str, str]) -> None:
    """A NIK against the row's recorded sex and birth date (`helpers`: their typed values)."""
    n, h = check.name, check.header
    # the aliases nik_date_problems computed
    nsex, mm, yy, day = f"nsex_{n}", f"mm_{n}", f"yy_{n}", f"day_{n}"
    sex = helpers.get("sex") if n in ("nik", "child_nik") else None
    recorded = helpers.get("birth_date") if n in ("nik", "child_nik") else None
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
                f"{d} || ' has birth date ' || {_nik_date_text(d)} || "
                f"', but the recorded birth date is ' || strftime({recorded}, '%Y-%m-%d')",
                "",
            ),
        )

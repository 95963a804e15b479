"""Indonesian person names normalised in DuckDB SQL, for comparing two registers.

Dukcapil and BPJS type the same person differently: titles (H., HJ., DRS.), degrees
after a comma (", S.PD"), MUHAMMAD as MUHAMAD, MOH. or M., SITY for SITI, a missing
space (NURHASANAH). The builders here return SQL expressions (DuckDB dialect) so the
normalisation runs inside the database on both tables, with no rows brought to Python.
"""

from __future__ import annotations

# Academic degrees and diplomas, as typed with dots (S.PD, S.E., A.MD, M.KES ...).
_DEGREE = (
    r"(S|A|M|D[1-4])\.("
    r"PD|PDI|E|KOM|H|T|SOS|AG|KEP|KEB|KM|SI|FARM|IP|P|KED|PSI|HUT|PT|MD|MA|MK|KES|M|SC|"
    r"AK|GZ|TR|STAT|HUM|IKOM|KEU|HI|THI|SY|FIL|SN|DS|ARS|TP|PI|IK|PKP|PWK|KG|KH"
    r")(\.[A-Z]{1,4})*\.?"
)
# Honorifics that stand before the name (checked only at its start, dots already gone).
_TITLES = r"H|HJ|HJH|HAJI|HAJJAH|DR|DRS|DRA|IR|PROF|KH|UST|USTADZ|USTAZ|USTADZAH|USTAZAH"
# Spellings and abbreviations of MUHAMMAD.
_MUHAMMAD = (
    r"MUHAMMAD|MUHAMAD|MUHAMMED|MUHAMED|MOHAMMAD|MOHAMAD|MOHAMMED|MOHAMED|"
    r"MOCHAMMAD|MOCHAMAD|MOCHAMMED|MUCHAMMAD|MUCHAMAD|MOCH|MOH|MOHD|MUH|MUHD|MHD|MHMD|MD|M"
)
# Other whole-word variants: (pattern, replacement).
_WORDS = (
    ("SITY", "SITI"),
    ("ACHMAD|ACHMED|AHMED|AKHMAD", "AHMAD"),
    ("ABD|ABDL", "ABDUL"),
)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _spaced(expr: str) -> str:
    """Pad with spaces and double the inner ones, so ` WORD ` matches never overlap."""
    return f"(' ' || replace({expr}, ' ', '  ') || ' ')"


def _word_sub(expr: str, pattern: str, replacement: str) -> str:
    return (
        f"regexp_replace({_spaced(expr)}, {_sql_string(f' ({pattern}) ')}, "
        f"{_sql_string(f' {replacement} ')}, 'g')"
    )


def _squeeze(expr: str) -> str:
    return f"trim(regexp_replace({expr}, ' +', ' ', 'g'))"


def normalised_name_sql(column: str) -> str:
    """SQL for the normalised form of the name in `column` (an SQL expression).

    Upper case; everything after a comma dropped; apostrophes dropped; other
    non-letters to spaces; degrees and leading titles removed; MUHAMMAD's variants,
    SITY, ACHMAD and ABD. unified; single spaces. NULL when nothing is left.
    """
    s = f"upper(CAST({column} AS VARCHAR))"
    s = f"regexp_replace({s}, ',.*$', '')"
    s = f"regexp_replace({s}, '[''`\u00b4\u2018\u2019]', '', 'g')"
    s = f"regexp_replace({s}, '[^A-Z.]+', ' ', 'g')"
    s = _squeeze(s)
    s = f"regexp_replace({_spaced(s)}, {_sql_string(f' {_DEGREE} ')}, ' ', 'g')"
    s = _squeeze(f"replace({s}, '.', ' ')")
    s = f"regexp_replace({s}, {_sql_string(f'^(({_TITLES}) )+')}, '')"
    s = _word_sub(s, _MUHAMMAD, "MUHAMMAD")
    for pattern, replacement in _WORDS:
        s = _word_sub(s, pattern, replacement)
    return f"nullif({_squeeze(s)}, '')"


def compact_name_sql(normalised: str) -> str:
    """SQL for the compact form of an already normalised name (SQL expression `normalised`).

    No spaces (NUR HASANAH = NURHASANAH), and the pre-1972 spelling folded into the
    current one (OE -> U, DJ -> J, TJ -> C: SOEKARNO = SUKARNO, DJOKO = JOKO).
    """
    s = f"replace({normalised}, ' ', '')"
    for old, new in (("OE", "U"), ("DJ", "J"), ("TJ", "C")):
        s = f"replace({s}, '{old}', '{new}')"
    return f"nullif({s}, '')"

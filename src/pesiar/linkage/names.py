"""Indonesian person names normalised in DuckDB SQL, for comparing two registers.

Dukcapil and BPJS type the same person differently: titles (H., HJ., DRS.), degrees
after a comma (", S.PD"), MUHAMMAD as MUHAMAD, MOH. or M., SITY for SITI, a missing
space (NURHASANAH). The builders here return SQL expressions (DuckDB dialect) so the
normalisation runs inside the database on both tables, with no rows brought to Python.
"""

from __future__ import annotations

from pesiar.ops.duck import sql_text

# Academic degrees and diplomas, as typed with dots (S.PD, S.E., A.MD, M.KES ...).
_DEGREE = (
    r"(?:(S|A|M|D[1-4])\.("
    r"PD|PDI|E|KOM|H|T|SOS|AG|KEP|KEB|KM|SI|FARM|IP|P|KED|PSI|HUT|PT|MD|MA|MK|KES|M|SC|"
    r"AK|GZ|TR|STAT|HUM|IKOM|KEU|HI|THI|SY|FIL|SN|DS|ARS|TP|PI|IK|PKP|PWK|KG|KH"
    r")(\.[A-Z]{1,4})*\.?"
    r"|AMD\.[A-Z]{2,4}\.?)"  # AMD.KEP, AMD.KEB: a diploma typed without its first dot
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


def _spaced(expr: str) -> str:
    """Pad with spaces and double the inner ones, so ` WORD ` matches never overlap."""
    return f"(' ' || replace({expr}, ' ', '  ') || ' ')"


def _word_sub(expr: str, pattern: str, replacement: str) -> str:
    return (
        f"regexp_replace({_spaced(expr)}, {sql_text(f' ({pattern}) ')}, "
        f"{sql_text(f' {replacement} ')}, 'g')"
    )


def _squeeze(expr: str) -> str:
    return f"trim(regexp_replace({expr}, ' +', ' ', 'g'))"


def normalised_name_sql(column: str) -> str:
    """SQL for the normalised form of the name in `column` (an SQL expression).

    Upper case; everything after a comma dropped; apostrophes dropped; other
    non-letters to spaces; degrees, leading titles and a BIN/BINTI patronym removed;
    MUHAMMAD's variants,
    SITY, ACHMAD and ABD. unified; single spaces. NULL when nothing is left.
    """
    s = f"upper(CAST({column} AS VARCHAR))"
    s = f"regexp_replace({s}, ',.*$', '')"
    s = f"regexp_replace({s}, '[''`\u00b4\u2018\u2019]', '', 'g')"
    s = f"regexp_replace({s}, '[^A-Z.]+', ' ', 'g')"
    s = _squeeze(s)
    s = f"regexp_replace({_spaced(s)}, {sql_text(f' {_DEGREE} ')}, ' ', 'g')"
    s = _squeeze(f"replace({s}, '.', ' ')")
    s = f"regexp_replace({s}, {sql_text(f'^(({_TITLES}) )+')}, '')"
    # A patronym (SUPARMI BINTI KASIM): the father's name is not the person's.
    s = f"regexp_replace({s}, '^(.+?) (BIN|BINTI|BT|BTE) .*$', '\\1')"
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


# Two words are the same word when equal, an initial of each other (M. = MUHAMMAD is
# already unified), or one keying slip apart (Jaro-Winkler at least this, or one edit
# in words of four letters or more: FTRIANI = FITRIANI).
WORD_AGREES = 0.9
# Share of the shorter name's words found in the other name below which two names
# clearly disagree: SITI AMINAH and SITI RAHMAH (0.5) are sisters, not one person.
NAMES_CLASH = 0.75


def _words(expr: str) -> str:
    return f"string_split({expr}, ' ')"


def name_agreement_sql(left: str, right: str, *, fuzzy: bool = True) -> str:
    """SQL for how well two normalised names (SQL expressions) agree, from 0 to 1.

    1 when their compact forms are equal (NURHASANAH = NUR HASANAH); otherwise the share
    of the shorter name's words that have a match among the other name's words, in any
    order (a dropped or swapped word keeps the share at 1, a different given name of a
    sibling halves a two-word name). NULL when either name is NULL. Without `fuzzy`, words
    agree only when equal or an initial of each other (no keying slip allowed).
    """
    # A slip keeps the first letter: RINA and DINA, twins' names, are two words. (CASE, not
    # OR: the cheap tests first, and the costly edit distance only where it can decide.)
    slip = (
        f" WHEN jaro_winkler_similarity(x, y) >= {WORD_AGREES} THEN true"
        " WHEN least(length(x), length(y)) >= 4 AND abs(length(x) - length(y)) <= 1"
        " AND left(x, 1) = left(y, 1) THEN damerau_levenshtein(x, y) <= 1"
    )

    def found(a: str, b: str) -> str:
        # M. is unified to MUHAMMAD, but may stand for any given name in M (M. PRAKASA for
        # MARTANI PRAKASA): so MUHAMMAD agrees with an M word only as the first of two names
        # of several words. Anywhere else it would let MUHAMMAD BAKTIADI SIREGAR agree with
        # MARSITO, or MUHAMMAD MARTANA with MUHAMMAD MARIADI, on no evidence at all.
        # (The names' first words are looked up only for such a pair: CASE, not AND.)
        firsts = (
            f"CASE WHEN x = {_words(a)}[1] AND y = {_words(b)}[1]"
            f" AND contains({a}, ' ') AND contains({b}, ' ') THEN true"
            f"{slip if fuzzy else ''} ELSE false END"
        )
        word_match = (
            "CASE WHEN x = y"
            " OR (length(x) = 1 AND starts_with(y, x)) OR (length(y) = 1 AND starts_with(x, y))"
            " THEN true"
            " WHEN (x = 'MUHAMMAD' AND left(y, 1) = 'M') OR (y = 'MUHAMMAD' AND left(x, 1) = 'M')"
            f" THEN {firsts}{slip if fuzzy else ''} ELSE false END"
        )
        return (
            f"list_count(list_filter({_words(a)}, lambda x: "
            f"list_bool_or(list_transform({_words(b)}, lambda y: {word_match}))))"
        )

    shorter = f"least(len({_words(left)}), len({_words(right)}))"
    return (
        f"CASE WHEN {left} IS NULL OR {right} IS NULL THEN NULL "
        f"WHEN {compact_name_sql(left)} = {compact_name_sql(right)} THEN 1.0 "
        f"ELSE least(1.0, greatest({found(left, right)}, {found(right, left)}) / {shorter}) END"
    )

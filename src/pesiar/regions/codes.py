"""Kemendagri region codes: the one place that knows their shape and ancestry.

A code is dotted by level: province `PP`, regency `PP.RR`, district `PP.RR.DD`, village
`PP.RR.DD.VVVV`. A region lies inside another when the other's code is a whole-part prefix of
its own ('15.02.05' is inside '15.02', '15.020' is not). Every "is this inside that" in Pesiar
goes through here: in Python (`is_within`), in the ORM (`under_q`, `within_q`) and in DuckDB
or raw SQL (`within_sql`).
"""

from django.db import connection
from django.db.models import Q

# Digits of each part of a code, province first.
PART_DIGITS = (2, 2, 2, 4)
# Length of a code without dots -> its level.
UNDOTTED_LENGTH = {2: 1, 4: 2, 6: 3, 10: 4}
# Length of a dotted code at each level: PP, PP.RR, PP.RR.DD, PP.RR.DD.VVVV
CODE_LENGTH = {1: 2, 2: 5, 3: 8, 4: 13}


def normalise_code(text: str) -> str | None:
    """'1502051002' or '15.02.05.1002' -> '15.02.05.1002'; None when it is not a region code."""
    text = text.strip()
    if "." in text:
        parts = text.split(".")
        if len(parts) > 4 or any(
            len(p) != n or not p.isdigit() for p, n in zip(parts, PART_DIGITS, strict=False)
        ):
            return None
        return text
    if not text.isdigit() or len(text) not in UNDOTTED_LENGTH:
        return None
    parts, pos = [], 0
    for n in PART_DIGITS[: UNDOTTED_LENGTH[len(text)]]:
        parts.append(text[pos : pos + n])
        pos += n
    return ".".join(parts)


def level(code: str) -> int:
    """1 (province) to 4 (village), from the number of parts."""
    return code.count(".") + 1


def parent(code: str) -> str | None:
    """The code one level up; None for a province."""
    return code.rsplit(".", 1)[0] if "." in code else None


def ancestors(code: str) -> list[str]:
    """The codes above `code`, province first ('15.02.05' -> ['15', '15.02'])."""
    parts = code.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def is_within(code: str, ancestor: str) -> bool:
    """True when region `code` is `ancestor` itself or lies under it (dotted code prefix)."""
    return code == ancestor or code.startswith(ancestor + ".")


def under_q(code: str, lookup: str = "code") -> Q:
    """Rows whose region (`lookup`, a field holding a dotted code) lies strictly under region
    `code`; every row for '' (the nation).

    On SQLite a range: codes under '15.02' sort between '15.02.' and '15.02/' ('/' follows
    '.'), and a range uses the index where SQLite's LIKE does not. Elsewhere a prefix match:
    a linguistic collation (en_US) may ignore the dots, so a range is unsafe there."""
    if not code:
        return Q()
    if connection.vendor == "sqlite":
        return Q(**{f"{lookup}__gte": code + ".", f"{lookup}__lt": code + "/"})
    return Q(**{f"{lookup}__startswith": code + "."})


def within_q(code: str, lookup: str = "code") -> Q:
    """Rows of region `code` itself and of everything under it."""
    if not code:
        return Q()
    return Q(**{lookup: code}) | under_q(code, lookup)


def within_sql(column: str, code: str, mark: str = "?", dotted: bool = True) -> tuple[str, list]:
    """An SQL condition for rows of `column` in region `code` or under it, with its parameters.
    `dotted=False` for columns holding codes without dots ('1502051002'); `mark` is the
    driver's placeholder ('?' for DuckDB and SQLite, '%s' for Django's cursors). `column`
    must be a trusted identifier."""
    value = code if dotted else code.replace(".", "")
    prefix = value + "." if dotted else value
    return f"{column} = {mark} OR {column} LIKE {mark}", [value, prefix + "%"]

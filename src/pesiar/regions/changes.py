"""Regency codes that were retired when a region was split or renumbered, shipped as package
data (`data/code_changes.csv`).

A NIK records the regency where it was first issued, and it is never reissued when that
regency gets a new code: every NIK issued in Merauke before 2022 still starts with 9101,
although Merauke is 93.01 (Papua Selatan) today. Such a NIK is valid; the change explains it.
"""

import csv
import io
from functools import cache
from typing import NamedTuple

from pesiar.regions import builtin


class CodeChange(NamedTuple):
    old_code: str  # dotted regency code, e.g. '91.01'
    new_code: str
    name: str
    year: int
    law: str


@cache
def regency_changes() -> dict[str, CodeChange]:
    """Retired dotted regency code -> its change."""
    text = (builtin.data_dir() / "code_changes.csv").read_text(encoding="utf-8")
    out: dict[str, CodeChange] = {}
    for row in csv.DictReader(io.StringIO(text)):
        change = CodeChange(
            row["old_code"], row["new_code"], row["name"], int(row["year"]), row["law"]
        )
        out[change.old_code] = change
    return out


def retired_regency(digits: str) -> CodeChange | None:
    """The change that retired the regency of a NIK or KK (undotted digits), if any."""
    return regency_changes().get(f"{digits[:2]}.{digits[2:4]}")


def describe(change: CodeChange) -> str:
    """'issued in 91.01 Merauke, now 93.01'."""
    return f"issued in {change.old_code} {change.name}, now {change.new_code}"

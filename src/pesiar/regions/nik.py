"""Rules for the Indonesian NIK (national identity number) and KK (family-card number).

A NIK is 16 digits: ``PPRRDD DDMMYY SSSS``.

* ``PPRRDD``: province, regency and district of first registration; dotted ``PP.RR.DD``.
  A NIK records where it was first issued, not a region that must exist today, so every
  region fault is a warning: a regency whose code was retired (``pesiar.regions.changes``,
  e.g. 91.01 Merauke, now 93.01) is REGION_RETIRED, any other unknown regency
  REGION_UNKNOWN, and a known regency with a district missing from today's list
  DISTRICT_UNKNOWN.
* ``DDMMYY``: birth date. Women have 40 added to the day, so day 41..71 means day 1..31
  of a woman; days 0, 32..40 and above 71 are impossible.
* ``SSSS``: serial, 0001..9999; 0000 is an error.

Century rule (``YY`` alone is ambiguous):

1. If a recorded birth date is given, its year ends in ``YY`` and the date read with its
   century is not after ``as_of``, that century is used (so a recorded 1905 gives 1905).
2. Otherwise ``20YY`` is used when that date is not after ``as_of`` (default: today),
   else ``19YY``. With ``as_of`` 2024-06-30, ``YY=05`` gives 2005 and ``YY=30`` gives 1930.
3. The date is then checked in the resolved year, so 29 Feb ``00`` is valid in 2000 but
   impossible when ``as_of`` forces 1900. A date still after ``as_of`` (only possible when
   ``as_of`` is before 2000) is NIK_FUTURE_BIRTH.

Input cleaning (``normalise``): whitespace anywhere (including NBSP and zero-width
spaces), dashes and dots used as separators, and one leading apostrophe are removed.
Floats are never repaired: a Python or numpy float, an exponent form
(``1.50201550890001e+15``) or a whole number with a decimal tail (``1502015508900001.0``)
is NIK_SCIENTIFIC, because digits may have been lost; a whole number of 16+ digits whose
digits after the 15th are zeros (``1502015508900010.0``, a NIK typed into an Excel number
cell) is NIK_EXCEL_PRECISION. ``0``, ``-``, ``Tdk Th`` and ``tidak tahu`` count as blank.
Python and numpy integers are exact and accepted. The strings 'nan', 'none', 'null' and
'<na>' count as blank.

A KK has the same shape, but its middle six digits are the issue date, which is only
required not to be all zeros.
"""

import math
import numbers
import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from pesiar.regions import builtin, changes

ERROR = "error"
WARNING = "warning"

NIK_LENGTH_DIGITS = 16
FEMALE_DAY_OFFSET = 40
MALE = "L"
FEMALE = "P"

# Whole-string forms of a number that went through a float.
_FLOAT_FORM = re.compile(r"[+-]?(?:\d+[.,]?\d*|[.,]\d+)[eE][+-]?\d+|[+-]?\d+(?:\.0*|,0+)")
# Separators and invisible characters removed from a NIK written as text.
_DELETE = str.maketrans(
    "",
    "",
    "-.\u2010\u2011\u2012\u2013\u2014\u2212\u200b\u200c\u200d\u2060\ufeff",
)
# Words and marks that spreadsheets and village systems use for "not known" (OpenSID writes
# 0 for a resident without a NIK yet; Dukcapil exports write Tdk Th, "tidak tahu").
_BLANK_WORDS = frozenset({"nan", "none", "null", "<na>", "0", "-", "tdkth", "tidaktahu", "n/a"})
_WHOLE_FLOAT = re.compile(r"(\d+)(?:\.0*|,0+)")
EXCEL_DIGITS = 15  # significant digits Excel keeps in a number cell
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SHOWN_CHARS = 40


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a value: stable code, a sentence for a person, severity."""

    code: str
    message: str
    severity: str


@dataclass(frozen=True)
class NikResult:
    """What a NIK says; fields are None when they cannot be read without guessing."""

    raw: str
    nik: str | None
    district_code: str | None
    birth_date: date | None
    sex: str | None
    serial: str | None
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return not any(p.severity == ERROR for p in self.problems)


@dataclass(frozen=True)
class KkResult:
    """What a KK number says; ``issue_digits`` is the raw DDMMYY issue date."""

    raw: str
    kk: str | None
    district_code: str | None
    issue_digits: str | None
    serial: str | None
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return not any(p.severity == ERROR for p in self.problems)


@cache
def _regencies() -> frozenset[str]:
    """Undotted regency codes ('1502') from the built-in list."""
    return frozenset(code.replace(".", "") for code in builtin.codes(2))


@cache
def _districts() -> frozenset[str]:
    """Undotted district codes ('150205') from the built-in list."""
    return frozenset(code.replace(".", "") for code in builtin.codes(3))


def _shown(raw: str) -> str:
    if len(raw) > _SHOWN_CHARS:
        raw = raw[: _SHOWN_CHARS - 3] + "..."
    return repr(raw)


def _clean(text: object) -> tuple[str, str | None, str | None]:
    """(raw text, digit string or None, reason suffix or None) for any input value."""
    if type(text) is str:
        if text.isdigit() and text.isascii() and text != "0":
            return text, text, None
        raw = text
    elif text is None:
        return "", None, "BLANK"
    elif isinstance(text, bool):
        return str(text), None, "CHARACTERS"
    elif type(text) is int or isinstance(text, numbers.Integral):
        value = int(text)
        if value < 0:
            return str(text), None, "CHARACTERS"
        return str(text), str(value), None
    elif isinstance(text, numbers.Real):
        if math.isnan(text):
            return str(text), None, "BLANK"
        if math.isfinite(text) and float(text).is_integer():
            return _float_reason(str(int(text)), str(text))
        return str(text), None, "SCIENTIFIC"
    else:
        raw = str(text)
    compact = "".join(raw.split())
    if compact[:1] == "'":
        compact = compact[1:]
    if not compact or compact.lower() in _BLANK_WORDS:
        return raw, None, "BLANK"
    if compact.isdigit() and compact.isascii():
        return raw, compact, None
    if _FLOAT_FORM.fullmatch(compact):
        whole = _WHOLE_FLOAT.fullmatch(compact)
        if whole:
            return _float_reason(whole.group(1), raw)
        return raw, None, "SCIENTIFIC"
    digits = compact.translate(_DELETE)
    if not digits:
        return raw, None, "BLANK"
    if not (digits.isascii() and digits.isdigit()):
        return raw, None, "CHARACTERS"
    return raw, digits, None


def _float_reason(digits: str, raw: str) -> tuple[str, None, str]:
    """A whole number that went through a spreadsheet number cell: EXCEL_PRECISION when it has
    more than the 15 significant digits Excel keeps and the rest are zeros (a 16-digit NIK
    typed into a number cell ends in 0), else SCIENTIFIC."""
    if len(digits) > EXCEL_DIGITS and set(digits[EXCEL_DIGITS:]) == {"0"}:
        return raw, None, "EXCEL_PRECISION"
    return raw, None, "SCIENTIFIC"


def normalise(text: object) -> str | None:
    """The digit string of a NIK/KK written with spaces, separators or an apostrophe."""
    return _clean(text)[1]


def classify(text: object) -> tuple[str | None, str | None]:
    """(digit string, None) for a value that reads as digits, else (None, reason) with reason
    one of BLANK, EXCEL_PRECISION, SCIENTIFIC, CHARACTERS; length is not checked here."""
    _raw, digits, reason = _clean(text)
    return digits, reason


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in(year: int, month: int) -> int:
    if month == 2 and _is_leap(year):
        return 29
    return _DAYS_IN_MONTH[month]


def _shape(raw: str, digits: str | None, reason: str | None, kind: str) -> tuple[Problem]:
    """The one problem of a value that is not 16 digits (blank, float, characters, length)."""
    label = "NIK" if kind == "NIK" else "KK number"
    shown = _shown(raw)
    if reason == "BLANK":
        return (Problem(f"{kind}_BLANK", f"The {label} is empty.", ERROR),)
    if reason == "EXCEL_PRECISION":
        message = (
            f"The {label} {shown} was stored in a spreadsheet number cell, which keeps only "
            "15 digits, so its last digit was lost; format the column as text and re-export."
        )
        return (Problem(f"{kind}_EXCEL_PRECISION", message, ERROR),)
    if reason == "SCIENTIFIC":
        message = (
            f"The {label} {shown} was stored as a floating-point number, so digits may have "
            "been lost; re-export the column as text."
        )
        return (Problem(f"{kind}_SCIENTIFIC", message, ERROR),)
    if reason == "CHARACTERS" or digits is None:
        message = f"The {label} {shown} contains characters other than digits."
        return (Problem(f"{kind}_CHARACTERS", message, ERROR),)
    message = f"The {label} {shown} has {len(digits)} digits instead of 16."
    return (Problem(f"{kind}_LENGTH", message, ERROR),)


def _region_problems(digits: str, kind: str) -> list[Problem]:
    """Warnings only: a NIK records where it was first issued, not a region that must exist
    today, so a retired or unknown regency never makes the person invalid."""
    label = "NIK" if kind == "NIK" else "KK number"
    regency = digits[:4]
    if regency not in _regencies():
        change = changes.retired_regency(digits)
        if change is not None:
            message = f"The {label} {digits} was {changes.describe(change)}."
            return [Problem(f"{kind}_REGION_RETIRED", message, WARNING)]
        message = (
            f"The {label} {digits} starts with {digits[:2]}.{digits[2:4]}, "
            "which is not a known regency or city."
        )
        return [Problem(f"{kind}_REGION_UNKNOWN", message, WARNING)]
    if digits[:6] not in _districts():
        message = (
            f"The {label} {digits} names district {digits[:2]}.{digits[2:4]}.{digits[4:6]}, "
            "which is not in today's district list (it may have been split or renumbered)."
        )
        return [Problem(f"{kind}_DISTRICT_UNKNOWN", message, WARNING)]
    return []


def _dotted(digits: str) -> str:
    return f"{digits[:2]}.{digits[2:4]}.{digits[4:6]}"


def _sex_of(day_field: int) -> str | None:
    if 1 <= day_field <= 31:
        return MALE
    if FEMALE_DAY_OFFSET + 1 <= day_field <= FEMALE_DAY_OFFSET + 31:
        return FEMALE
    return None


def _resolve_year(yy: int, month: int, day: int, as_of: date, recorded: date | None) -> int:
    limit = (as_of.year, as_of.month, as_of.day)
    if recorded is not None and recorded.year % 100 == yy and (recorded.year, month, day) <= limit:
        return recorded.year
    if (2000 + yy, month, day) <= limit:
        return 2000 + yy
    return 1900 + yy


def parse(text: object, *, as_of: date | None = None, birth_date: date | None = None) -> NikResult:
    """Read a NIK; ``birth_date`` (the recorded one) only helps choose the century."""
    raw, digits, reason = _clean(text)
    if digits is None or len(digits) != NIK_LENGTH_DIGITS:
        return NikResult(raw, None, None, None, None, None, _shape(raw, digits, reason, "NIK"))
    problems = _region_problems(digits, "NIK")

    day_field, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    sex = _sex_of(day_field)
    day = day_field - FEMALE_DAY_OFFSET if sex == FEMALE else day_field
    born: date | None = None
    if sex is None or not 1 <= month <= 12:
        date_text = f"{digits[6:8]}-{digits[8:10]}-{digits[10:12]}"
        message = f"The NIK {digits} has birth date {date_text}, which is not a possible date."
        problems.append(Problem("NIK_DATE_IMPOSSIBLE", message, ERROR))
    else:
        if as_of is None:
            as_of = date.today()
        year = _resolve_year(yy, month, day, as_of, birth_date)
        date_text = f"{digits[6:8]}-{digits[8:10]}-{digits[10:12]}"
        if day > _days_in(year, month):
            message = (
                f"The NIK {digits} has birth date {date_text}, which does not exist in {year}."
            )
            problems.append(Problem("NIK_DATE_IMPOSSIBLE", message, ERROR))
        elif (year, month, day) > (as_of.year, as_of.month, as_of.day):
            message = (
                f"The NIK {digits} has birth date {date_text}, which is after "
                f"{as_of.isoformat()} in either century."
            )
            problems.append(Problem("NIK_FUTURE_BIRTH", message, ERROR))
        else:
            born = date(year, month, day)

    serial = digits[12:]
    if serial == "0000":
        message = f"The NIK {digits} ends in serial 0000, which is never issued."
        problems.append(Problem("NIK_SERIAL_ZERO", message, ERROR))
    return NikResult(raw, digits, _dotted(digits), born, sex, serial, tuple(problems))


def parse_kk(text: object) -> KkResult:
    """Read a KK number: 16 digits, a known region and a non-zero issue date."""
    raw, digits, reason = _clean(text)
    if digits is None or len(digits) != NIK_LENGTH_DIGITS:
        return KkResult(raw, None, None, None, None, _shape(raw, digits, reason, "KK"))
    problems = _region_problems(digits, "KK")
    issue = digits[6:12]
    if issue == "000000":
        message = f"The KK number {digits} has an all-zero issue date."
        problems.append(Problem("KK_ISSUE_DATE_ZERO", message, ERROR))
    return KkResult(raw, digits, _dotted(digits), issue, digits[12:], tuple(problems))


def check_consistency(nik: str, sex: str | None, birth_date: date | None) -> list[Problem]:
    """Warnings where a NIK disagrees with the recorded sex ('L'/'P') or birth date.

    Values that cannot be compared (a NIK that is not 16 digits, an impossible NIK date,
    a sex other than 'L'/'P') give no warning here; ``parse`` reports the NIK's own faults.
    """
    digits = normalise(nik)
    if digits is None or len(digits) != NIK_LENGTH_DIGITS:
        return []
    problems: list[Problem] = []
    day_field, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    nik_sex = _sex_of(day_field)
    recorded_sex = sex.strip().upper() if isinstance(sex, str) else None
    if nik_sex is not None and recorded_sex in (MALE, FEMALE) and recorded_sex != nik_sex:
        message = (
            f"The NIK {digits} is a {'woman' if nik_sex == FEMALE else 'man'}'s number, "
            f"but the recorded sex is {recorded_sex}."
        )
        problems.append(Problem("NIK_SEX_MISMATCH", message, WARNING))
    if nik_sex is not None and birth_date is not None and 1 <= month <= 12:
        day = day_field - FEMALE_DAY_OFFSET if nik_sex == FEMALE else day_field
        if (birth_date.day, birth_date.month, birth_date.year % 100) != (day, month, yy):
            message = (
                f"The NIK {digits} has birth date {day:02d}-{month:02d}-{yy:02d}, "
                f"but the recorded birth date is {birth_date.isoformat()}."
            )
            problems.append(Problem("NIK_BIRTHDATE_MISMATCH", message, WARNING))
    return problems


def build(district_code: str, birth_date: date, sex: str, serial: int) -> str:
    """The NIK for a district ('PP.RR.DD'), birth date, sex ('L'/'P') and serial 1..9999."""
    parts = district_code.split(".") if isinstance(district_code, str) else []
    if len(parts) != 3 or any(len(p) != 2 or not (p.isascii() and p.isdigit()) for p in parts):
        raise ValueError(f"district code must look like 'PP.RR.DD', not {district_code!r}")
    if not isinstance(birth_date, date):
        raise ValueError(f"birth date must be a date, not {birth_date!r}")
    if sex not in (MALE, FEMALE):
        raise ValueError(f"sex must be 'L' or 'P', not {sex!r}")
    if isinstance(serial, bool) or not isinstance(serial, int) or not 1 <= serial <= 9999:
        raise ValueError(f"serial must be an integer from 1 to 9999, not {serial!r}")
    day = birth_date.day + (FEMALE_DAY_OFFSET if sex == FEMALE else 0)
    return f"{''.join(parts)}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"

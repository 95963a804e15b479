"""Properties of the import over generated files (Hypothesis).

1. Any small CSV of a register, however messy its rows, is imported with every record
   accounted for: rows_read = accepted + rejected = records written, each rejected record in
   rejects.csv on its line, and the accepted lines exactly the others.
2. The SQL that checks every NIK of a file reports the same NIK errors as the Python rules of
   `pesiar.regions.nik.parse` (including the century rule), value by value.
"""

import csv
import io
import itertools
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pesiar.regions.nik import ERROR, build, check_consistency, normalise, parse
from pesiar.registers.models import Snapshot
from pesiar.registers.schema import REGISTERS, Kind
from pesiar.registers.services import ImportResult, RegisterImportError, import_register
from snapshot_rows import accepted_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
DISTRICTS = ("15.02.05", "15.71.10", "15.01.01", "15.09.02")
VILLAGES = ("15.02.05.1002", "1502051002", "15.71.10.1004", "15.01.01.1004")
KK = "1502050101100001"
DATES = itertools.count()  # a fresh as_of per import, so that no import replaces another


def fresh_date(start: date = date(2001, 1, 1)) -> date:
    return start + timedelta(days=next(DATES))


def snapshot_of(result: ImportResult) -> Snapshot:
    return Snapshot.objects.get(pk=result.duplicate_of or result.snapshot_id)


def read_back(result: ImportResult) -> tuple[list[dict], list[dict[str, str]]]:
    snapshot = snapshot_of(result)
    accepted = accepted_rows(snapshot)
    rejects: list[dict[str, str]] = []
    if snapshot.rejects_file.exists():
        with snapshot.rejects_file.open(encoding="utf-8", newline="") as fh:
            rejects = list(csv.DictReader(fh))
    return accepted, rejects


# --- 1. every record accounted for ----------------------------------------------------

valid_niks = st.builds(
    build,
    st.sampled_from(DISTRICTS),
    st.dates(date(1930, 1, 1), date(2000, 12, 31)),
    st.sampled_from("LP"),
    st.integers(1, 9999),
)
garbage = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=12)
any_value = st.one_of(
    valid_niks,
    garbage,
    st.just(""),
    st.sampled_from(VILLAGES),
    st.integers(-5, 15).map(str),
    st.just(" 1502050101600001 "),
    st.just("1.50201550890001e+15"),
)
valid_record = st.tuples(
    valid_niks, st.just(KK), st.integers(1, 10).map(str), st.sampled_from(VILLAGES)
).map(list)
# A record of the right width with any values, or of the wrong width.
messy_record = st.one_of(
    st.lists(any_value, min_size=4, max_size=4),
    st.lists(any_value, min_size=1, max_size=7),
)


@st.composite
def register_files(draw) -> tuple[str, list[list[str]], str]:
    """(CSV text, records written, delimiter) for the welfare register."""
    records = draw(st.lists(st.one_of(valid_record, messy_record), min_size=1, max_size=25))
    # Exact copies of earlier records, inserted anywhere after their original.
    for _ in range(draw(st.integers(0, 4))):
        source = draw(st.integers(0, len(records) - 1))
        at = draw(st.integers(source + 1, len(records)))
        records.insert(at, list(records[source]))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
    )
    header = draw(
        st.sampled_from(
            [["nik", "kk", "decile", "village_code"], ["NIK", "NO_KK", "DESIL", "KODE_DESA"]]
        )
    )
    writer.writerow(header)
    writer.writerows(records)
    text = buffer.getvalue()
    if draw(st.booleans()):  # no line break after the last record
        text = text.rstrip("\r\n")
    return text, records, delimiter


@HYPOTHESIS
@given(file=register_files())
def test_every_record_is_accepted_or_rejected_on_its_line(tmp_path, file):
    text, records, delimiter = file
    path = tmp_path / f"welfare-{next(DATES)}.csv"
    path.write_text(text, encoding="utf-8", newline="")
    assert all(line.strip("\r") for line in text.rstrip("\r\n").split("\n")[1:])  # no blank line
    # The header is always right, so nothing here is a whole-file problem.
    try:
        result = import_register("welfare", path, fresh_date())
    except RegisterImportError as exc:  # pragma: no cover - would be a failure
        pytest.fail(f"a file with a valid header was refused: {exc}")
    assert result.delimiter == delimiter and result.duplicate_of is None
    accepted, rejects = read_back(result)
    lines = list(range(2, len(records) + 2))
    assert result.rows_read == result.accepted + result.rejected == len(records)
    assert len(accepted) == result.accepted and len(rejects) == result.rejected

    accepted_lines = [r["line"] for r in accepted]
    rejected_lines = [int(r["line"]) for r in rejects]
    assert len(set(rejected_lines)) == len(rejected_lines)
    assert sorted(accepted_lines + rejected_lines) == lines
    reasons = {int(r["line"]): r for r in rejects}

    first: dict[tuple, int] = {}
    for line, record in zip(lines, records, strict=True):
        record = read_as(record)
        if len(record) != 4:
            expected = "ROW_TOO_MANY_COLUMNS" if len(record) > 4 else "ROW_MISSING_COLUMNS"
            assert reasons[line]["reason"] == expected, (line, record)
            continue
        key = tuple(v or None for v in record)
        if key in first:
            assert "DUPLICATE_ROW" in reasons[line]["reasons"].split("|"), (line, record)
            if reasons[line]["reason"] == "DUPLICATE_ROW":
                message = f"exact duplicate of line {first[key]}; kept once"
                assert reasons[line]["message"] == message
            continue
        first[key] = line
        # A valid record is accepted unless it repeats an earlier one.
        if is_valid(record):
            assert line in accepted_lines, (line, record, reasons.get(line))
    # The accepted rows carry the values of their line.
    by_line = {line: read_as(r) for line, r in zip(lines, records, strict=True)}
    for row in accepted:
        record = by_line[row["line"]]
        assert row["nik"] == normalise(record[0]), (row, record)
        assert 1 <= row["decile"] <= 10
        if record[2].isascii() and record[2].isdigit():
            assert row["decile"] == int(record[2])


def test_a_wide_data_row_is_not_taken_for_the_header(tmp_path):
    # Found by the property above: a record wider than the header, or a header that one
    # delimiter leaves whole while another splits a later record, moved the header down.
    text = (
        "nik;kk;decile;village_code\n"
        "0;0;0;0;0;0;0\n"
        f"{build('15.02.05', date(1990, 1, 2), 'L', 1)};{KK};3;15.02.05.1002\n"
        "a,b,c,d,e\n"
    )
    path = tmp_path / "wide.csv"
    path.write_text(text, encoding="utf-8")
    result = import_register("welfare", path, fresh_date())
    accepted, rejects = read_back(result)
    assert result.delimiter == ";"
    assert [r["line"] for r in accepted] == [3]
    assert sorted(int(r["line"]) for r in rejects) == [2, 4]


def test_a_sheet_header_is_the_first_row_that_fills_two_cells():
    from pesiar.registers.sheets import find_header

    title, blank, header = ["Data Balita Mei 2024", "", ""], [], ["nik", "kk", "decile"]
    assert find_header([title, blank, header, ["1", "2", "3", "4", "5", "6"]]) == 2
    assert find_header([header, ["1", "2", "3", "4", "5", "6", "7"]]) == 0
    assert find_header([title, blank]) is None


def read_as(record: list[str]) -> list[str]:
    """The fields the reader takes from a record: empty values after the last column are
    ignored (a trailing delimiter), like the CSV reader does."""
    if len(record) > 4 and not any(record[4:]):
        return record[:4]
    return record


def is_valid(record: list[str]) -> bool:
    nik, kk, decile, village = record
    return (
        parse(nik, as_of=date(2001, 1, 1)).valid
        and nik.isdigit()
        and kk == KK
        and decile in {str(d) for d in range(1, 11)}
        and village in VILLAGES
    )


# --- 2. the SQL and the Python NIK rules agree ----------------------------------------

AS_OFS = (date(2024, 6, 30), date(2000, 2, 29), date(2000, 2, 28), date(1999, 12, 31))


# In the population register a missing or spreadsheet-damaged NIK does not reject the
# resident (kept without a NIK, for the NIK-first pathway).
POPULATION_NIK_WARNS = set(REGISTERS[Kind.POPULATION].column("nik").warn_codes)


def nik_errors(value: str, as_of: date, birth_date: date | None) -> set[str]:
    return {
        p.code
        for p in parse(value, as_of=as_of, birth_date=birth_date).problems
        if p.severity == ERROR and p.code not in POPULATION_NIK_WARNS
    }


def import_niks(
    rows: list[tuple[str, date | None]], as_of: date, tmp_path: Path
) -> dict[int, tuple[set[str], set[str]]]:
    """Import one population file with these (NIK, recorded birth date) rows; per line the
    NIK error codes (rejected rows) and NIK warning codes (accepted rows)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["NIK", "NAMA", "JENIS_KELAMIN", "TGL_LHR", "NO_KK", "KODE_DESA"])
    for i, (value, born) in enumerate(rows):
        birth = born.isoformat() if born else ""
        writer.writerow([value, f"WARGA {i}", "L", birth, KK, "15.02.05.1002"])
    path = tmp_path / f"niks-{next(DATES)}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    result = import_register("population", path, as_of, replace=True)
    assert result.rows_read == len(rows) == result.accepted + result.rejected
    accepted, rejects = read_back(result)
    out: dict[int, tuple[set[str], set[str]]] = {}
    for row in accepted:
        out[row["line"]] = (set(), {c for c in row["warnings"] if c.startswith("NIK_")})
    for reject in rejects:
        codes = set(reject["reasons"].split("|"))
        assert codes == {c for c in codes if c.startswith("NIK_")}, reject  # nothing else
        out[int(reject["line"])] = (codes, set())
    return out


def assert_parity(rows: list[tuple[str, date | None]], as_of: date, tmp_path: Path) -> None:
    found = import_niks(rows, as_of, tmp_path)
    assert len(found) == len(rows)
    for line, (value, born) in enumerate(rows, start=2):
        errors, warnings = found[line]
        assert errors == nik_errors(value, as_of, born), (value, born, as_of)
        if not errors:
            recorded = born if born and born <= as_of else None
            expected = {p.code for p in parse(value, as_of=as_of, birth_date=born).problems} | {
                p.code for p in check_consistency(value, "L", recorded)
            }
            assert warnings - {"NIK_SHARED"} == expected, (value, born, as_of)


VALID = build("15.02.05", date(1990, 8, 15), "L", 1)  # 1502051508900001
# (value, recorded birth date, as_of, NIK errors expected by both rules)
TRICKY = [
    (VALID, None, AS_OFS[0], set()),
    ("'" + VALID, None, AS_OFS[0], set()),
    (" 1502 0515 0890 0001 ", None, AS_OFS[0], set()),
    ("1502-05-150890-0001", None, AS_OFS[0], set()),
    ("", None, AS_OFS[0], set()),  # NIK_BLANK: the resident is kept, without a NIK
    ("   ", None, AS_OFS[0], set()),
    ("nan", None, AS_OFS[0], set()),
    ("0", None, AS_OFS[0], set()),  # OpenSID: no NIK yet
    ("Tdk Th", None, AS_OFS[0], set()),
    ("1502051508900010.0", None, AS_OFS[0], set()),  # NIK_EXCEL_PRECISION: kept, warned
    ("1.50205150890001e+15", None, AS_OFS[0], {"NIK_SCIENTIFIC"}),
    (VALID + ".0", None, AS_OFS[0], {"NIK_SCIENTIFIC"}),
    ("15020515O8900001", None, AS_OFS[0], {"NIK_CHARACTERS"}),
    ("NIK 1502051508900001", None, AS_OFS[0], {"NIK_CHARACTERS"}),
    ("''" + VALID, None, AS_OFS[0], {"NIK_CHARACTERS"}),
    (VALID[:-1], None, AS_OFS[0], {"NIK_LENGTH"}),
    (VALID + "7", None, AS_OFS[0], {"NIK_LENGTH"}),
    ("9901011508900001", None, AS_OFS[0], set()),  # unknown regency: a warning only
    ("9101011508900001", None, AS_OFS[0], set()),  # Merauke before 2022: retired, a warning
    ("1502991508900001", None, AS_OFS[0], set()),  # unknown district: a warning only
    ("1502050008900001", None, AS_OFS[0], {"NIK_DATE_IMPOSSIBLE"}),  # day 00
    ("1502053208900001", None, AS_OFS[0], {"NIK_DATE_IMPOSSIBLE"}),  # day 32
    ("1502054008900001", None, AS_OFS[0], {"NIK_DATE_IMPOSSIBLE"}),  # day 40
    ("1502057208900001", None, AS_OFS[0], {"NIK_DATE_IMPOSSIBLE"}),  # 72 = woman's 32
    ("1502057108900001", None, AS_OFS[0], set()),  # 71 = woman's 31 August
    ("1502051513900001", None, AS_OFS[0], {"NIK_DATE_IMPOSSIBLE"}),  # month 13
    ("1502053104900001", None, AS_OFS[0], {"NIK_DATE_IMPOSSIBLE"}),  # 31 April
    ("1502053002960001", None, AS_OFS[0], {"NIK_DATE_IMPOSSIBLE"}),  # 30 February
    ("1502052902010001", None, AS_OFS[0], {"NIK_DATE_IMPOSSIBLE"}),  # 29 Feb 2001
    ("1502056902960001", None, AS_OFS[0], set()),  # a woman born 29 Feb 1996
    ("1502051508900000", None, AS_OFS[0], {"NIK_SERIAL_ZERO"}),
    (
        "9901013208900000",
        None,
        AS_OFS[0],
        {"NIK_DATE_IMPOSSIBLE", "NIK_SERIAL_ZERO"},
    ),
    # The century: 29 Feb 00 exists in 2000 but not in 1900.
    ("1502052902000001", None, date(2000, 2, 29), set()),
    ("1502052902000001", None, date(2000, 2, 28), {"NIK_DATE_IMPOSSIBLE"}),  # 1900
    ("1502052902000001", None, date(1999, 12, 31), {"NIK_DATE_IMPOSSIBLE"}),
    ("1502052902000001", date(1900, 2, 28), AS_OFS[0], {"NIK_DATE_IMPOSSIBLE"}),  # recorded
    ("1502052902000001", date(2000, 2, 29), AS_OFS[0], set()),
    ("1502050101050001", date(1905, 1, 1), AS_OFS[0], set()),  # a 119-year-old
    ("1502053112240001", None, AS_OFS[0], set()),  # 31 Dec 24 is after as_of: 1924
    ("1502053006240001", None, AS_OFS[0], set()),  # 30 Jun 2024, the day itself
]


@pytest.mark.parametrize("as_of", sorted({t[2] for t in TRICKY}))
def test_tricky_niks_sql_and_python_agree(tmp_path, as_of):
    cases = [t for t in TRICKY if t[2] == as_of]
    for value, born, _as_of, expected in cases:
        assert nik_errors(value, as_of, born) == expected, (value, born, as_of)
    assert_parity([(v, b) for v, b, _a, _e in cases], as_of, tmp_path)


def test_future_birth_in_either_century(tmp_path):
    # Before 2000 a two-digit year can lie after the snapshot date in both centuries.
    as_of = date(1950, 6, 15)
    rows = [("1502051506600001", None), ("1502051506500001", None), ("1502051406500001", None)]
    assert [nik_errors(v, as_of, None) for v, _ in rows] == [
        {"NIK_FUTURE_BIRTH"},
        set(),
        set(),
    ]
    assert_parity(rows, as_of, tmp_path)


@st.composite
def nik_rows(draw) -> tuple[str, date | None]:
    """A NIK-like value and a recorded birth date that sometimes agrees with it."""
    district = draw(st.sampled_from([*DISTRICTS, "15.02.99", "99.01.01", "31.71.01"]))
    day = draw(st.one_of(st.integers(0, 99), st.sampled_from([29, 30, 31, 69, 70, 71, 72])))
    month = draw(st.one_of(st.integers(0, 13), st.just(2)))
    yy = draw(st.one_of(st.integers(0, 99), st.sampled_from([0, 24, 25, 96, 99])))
    serial = draw(st.one_of(st.integers(0, 9999), st.just(0)))
    digits = f"{district.replace('.', '')}{day:02d}{month:02d}{yy:02d}{serial:04d}"
    mutate = draw(
        st.sampled_from(
            ["none"] * 6
            + ["apostrophe", "spaces", "float", "exponent", "short", "long", "letter", "text"]
        )
    )
    value = digits
    if mutate == "apostrophe":
        value = "'" + digits
    elif mutate == "spaces":
        value = " ".join(digits[i : i + 4] for i in range(0, 16, 4))
    elif mutate == "float":
        value = digits + ".0"
    elif mutate == "exponent":
        value = f"{int(digits):.14e}"
    elif mutate == "short":
        value = digits[: draw(st.integers(0, 15))]
    elif mutate == "long":
        value = digits + draw(st.text("0123456789", min_size=1, max_size=3))
    elif mutate == "letter":
        value = digits[:8] + draw(st.sampled_from("OolIS ")) + digits[9:]
    elif mutate == "text":
        value = draw(st.text(max_size=18).filter(lambda t: "\x00" not in t and "\r" not in t))
    real_day = day - 40 if day > 40 else day
    born = draw(
        st.one_of(
            st.none(),
            st.dates(date(1880, 1, 1), date(2030, 12, 31)),
            st.sampled_from([1800, 1900, 2000]).flatmap(
                lambda century: st.just(_date_or_none(century + yy, month, real_day))
            ),
        )
    )
    return value, born if born is None or born.year >= 1880 else None


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


@HYPOTHESIS
@given(rows=st.lists(nik_rows(), min_size=1, max_size=40), as_of=st.sampled_from(AS_OFS))
def test_generated_niks_sql_and_python_agree(tmp_path, rows, as_of):
    assert_parity(rows, as_of, tmp_path)

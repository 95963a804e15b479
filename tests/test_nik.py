from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pesiar.regions import builtin
from pesiar.regions.nik import (
    ERROR,
    WARNING,
    NikResult,
    build,
    check_consistency,
    normalise,
    parse,
    parse_kk,
)

AS_OF = date(2024, 6, 30)
# 15.02.01 and 15.02.05 (Merangin) and 15.71.01 (Kota Jambi) are real Jambi districts.
NIK_F = "1502015508900001"  # 15.02.01, woman born 15-08-1990, serial 0001
NIK_M = "1502051508900002"  # 15.02.05, man born 15-08-1990, serial 0002


def codes(result) -> list[str]:
    return [p.code for p in result.problems]


# --- normalise ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NIK_F, NIK_F),
        ("1502 0155 0890 0001", NIK_F),
        ("'1502015508900001", NIK_F),
        ("' 1502015508900001 ", NIK_F),
        ("\xa01502\xa00155\xa00890 0001\t", NIK_F),
        ("1502\u200b015508900001", NIK_F),
        ("15.02.01.550890.0001", NIK_F),
        ("1502-0155-0890-0001", NIK_F),
        ("1502\u201301550890\u20130001", NIK_F),
        (1502015508900001, NIK_F),
        (np.int64(1502015508900001), NIK_F),
        ("150201550890001", "150201550890001"),
        ("''1502015508900001", None),
        ("1502015508900001'", None),
        ("15020155O8900001", None),
        ("+1502015508900001", None),
        ("\uff11\uff15\uff10\uff12", None),
        ("\u0661\u0665\u0660\u0662", None),
        ("1502015508900010.0", None),
        ("1502015508900010.", None),
        ("1502015508900010,00", None),
        ("1.50201550890001e+15", None),
        ("1.50201550890001E+15", None),
        ("1,50201550890001E+15", None),
        ("1502015508900010e0", None),
        (1.50201550890001e15, None),
        (1502015508900001.0, None),
        (np.float64(1.50201550890001e15), None),
        (np.float32(1.5e15), None),
        (-1502015508900001, None),
        (True, None),
        (None, None),
        ("", None),
        ("   ", None),
        ("-", None),
        ("nan", None),
        (float("nan"), None),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


# --- parse: valid NIKs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "district", "born", "sex", "serial"),
    [
        (NIK_M, "15.02.05", date(1990, 8, 15), "L", "0002"),
        (NIK_F, "15.02.01", date(1990, 8, 15), "P", "0001"),
        ("1502 0155 0890 0001", "15.02.01", date(1990, 8, 15), "P", "0001"),
        ("'1502015508900001", "15.02.01", date(1990, 8, 15), "P", "0001"),
        (1502015508900001, "15.02.01", date(1990, 8, 15), "P", "0001"),
        ("1571013112859999", "15.71.01", date(1985, 12, 31), "L", "9999"),
    ],
)
def test_parse_fields(text, district, born, sex, serial):
    result = parse(text, as_of=AS_OF)
    assert result.valid, result.problems
    assert result.problems == ()
    assert result.nik == normalise(text)
    assert result.raw == str(text)
    assert (result.district_code, result.birth_date, result.sex, result.serial) == (
        district,
        born,
        sex,
        serial,
    )


@pytest.mark.parametrize(
    ("text", "as_of", "recorded", "born", "sex"),
    [
        # +40 for women at both ends of the month; day 31 for a man
        ("1571014101850002", AS_OF, None, date(1985, 1, 1), "P"),
        ("1571017101850003", AS_OF, None, date(1985, 1, 31), "P"),
        ("1571013101850004", AS_OF, None, date(1985, 1, 31), "L"),
        ("1571010101850005", AS_OF, None, date(1985, 1, 1), "L"),
        # leap days
        ("1502052902000001", AS_OF, None, date(2000, 2, 29), "L"),
        ("1502056902000001", AS_OF, None, date(2000, 2, 29), "P"),
        ("1502052902040001", AS_OF, None, date(2004, 2, 29), "L"),
        ("1502056902240001", AS_OF, None, date(2024, 2, 29), "P"),
        ("1502052902960001", AS_OF, None, date(1996, 2, 29), "L"),
        ("1502052902000001", date(2000, 2, 29), None, date(2000, 2, 29), "L"),
        # century: 20YY unless that is after as_of
        ("1502051005050001", AS_OF, None, date(2005, 5, 10), "L"),
        ("1502051005300001", AS_OF, None, date(1930, 5, 10), "L"),
        ("1502053006240001", AS_OF, None, date(2024, 6, 30), "L"),
        ("1502050107240001", AS_OF, None, date(1924, 7, 1), "L"),
        ("1502051005050001", date(2005, 5, 9), None, date(1905, 5, 10), "L"),
        # the recorded birth date's century wins when its year ends in YY
        ("1502051005050001", AS_OF, date(1905, 5, 10), date(1905, 5, 10), "L"),
        ("1502051005050001", AS_OF, date(1905, 1, 1), date(1905, 5, 10), "L"),
        ("1502055005050001", AS_OF, date(1905, 5, 10), date(1905, 5, 10), "P"),
        ("1502051005050001", AS_OF, date(1990, 5, 10), date(2005, 5, 10), "L"),
        # ... unless that would put the birth after as_of
        ("1502051005300001", AS_OF, date(2030, 5, 10), date(1930, 5, 10), "L"),
    ],
)
def test_parse_dates(text, as_of, recorded, born, sex):
    result = parse(text, as_of=as_of, birth_date=recorded)
    assert result.valid, result.problems
    assert result.problems == ()
    assert (result.birth_date, result.sex) == (born, sex)
    assert result.district_code == f"{text[:2]}.{text[2:4]}.{text[4:6]}"
    assert result.serial == text[12:]


def test_parse_defaults_to_today():
    result = parse(build("15.02.05", date.today(), "P", 1))
    assert result.valid
    assert result.birth_date == date.today()


# --- parse: problems ---------------------------------------------------------------------


REGION_WARNINGS = {"NIK_DISTRICT_UNKNOWN", "NIK_REGION_UNKNOWN", "NIK_REGION_RETIRED"}


def test_retired_regency_is_explained():
    problem = parse("9101011508900001", as_of=AS_OF).problems[0]
    assert problem.code == "NIK_REGION_RETIRED" and problem.severity == WARNING
    assert "issued in 91.01 Merauke, now 93.01" in problem.message


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        # blank
        (None, {}, ["NIK_BLANK"]),
        ("", {}, ["NIK_BLANK"]),
        (" \xa0 ", {}, ["NIK_BLANK"]),
        ("'", {}, ["NIK_BLANK"]),
        ("-", {}, ["NIK_BLANK"]),
        ("NaN", {}, ["NIK_BLANK"]),
        (float("nan"), {}, ["NIK_BLANK"]),
        (np.nan, {}, ["NIK_BLANK"]),
        # floats: never repaired
        ("1.50201550890001e+15", {}, ["NIK_SCIENTIFIC"]),
        ("1502015508900010.0", {}, ["NIK_EXCEL_PRECISION"]),
        ("150201550890001.0", {}, ["NIK_SCIENTIFIC"]),
        (" '1,50201550890001E+15", {}, ["NIK_SCIENTIFIC"]),
        (1.50201550890001e15, {}, ["NIK_EXCEL_PRECISION"]),
        (1502015508900001.0, {}, ["NIK_SCIENTIFIC"]),
        (np.float64(1502015508900001), {}, ["NIK_SCIENTIFIC"]),
        (np.float32(1502015508900001), {}, ["NIK_SCIENTIFIC"]),
        (float("inf"), {}, ["NIK_SCIENTIFIC"]),
        # characters
        ("15020155O8900001", {}, ["NIK_CHARACTERS"]),
        ("NIK 1502015508900001", {}, ["NIK_CHARACTERS"]),
        ("1502015508900001/", {}, ["NIK_CHARACTERS"]),
        ("1502,0155,0890,0001", {}, ["NIK_CHARACTERS"]),
        ("\u0661\u0665" * 8, {}, ["NIK_CHARACTERS"]),
        (-1502015508900001, {}, ["NIK_CHARACTERS"]),
        (True, {}, ["NIK_CHARACTERS"]),
        # length
        ("150201550890001", {}, ["NIK_LENGTH"]),
        ("15020155089000011", {}, ["NIK_LENGTH"]),
        (150201550890001, {}, ["NIK_LENGTH"]),
        ("1", {}, ["NIK_LENGTH"]),
        # region
        ("9901011508900001", {}, ["NIK_REGION_UNKNOWN"]),
        ("1599011508900001", {}, ["NIK_REGION_UNKNOWN"]),
        ("0000001508900001", {}, ["NIK_REGION_UNKNOWN"]),
        ("9101011508900001", {}, ["NIK_REGION_RETIRED"]),
        ("9201011508900001", {}, ["NIK_REGION_RETIRED"]),
        ("1502991508900001", {}, ["NIK_DISTRICT_UNKNOWN"]),
        ("1502001508900001", {}, ["NIK_DISTRICT_UNKNOWN"]),
        # impossible dates
        ("1502050008900001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502051500900001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502051513900001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502055513900001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        *[(f"150205{d:02d}0890" + "0001", {}, ["NIK_DATE_IMPOSSIBLE"]) for d in range(32, 41)],
        ("1502057208900001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502059908900001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502053002900001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502057002960001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502052902230001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502056902230001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502053104900001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502057104900001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502053109900001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502053111900001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502053106900001", {}, ["NIK_DATE_IMPOSSIBLE"]),
        # 29-02-00 only exists in 2000; an as_of before it forces 1900, which is not leap
        ("1502052902000001", {"as_of": date(1999, 12, 31)}, ["NIK_DATE_IMPOSSIBLE"]),
        ("1502056902000001", {"as_of": date(2000, 2, 28)}, ["NIK_DATE_IMPOSSIBLE"]),
        # future in both centuries
        ("1502051005600001", {"as_of": date(1950, 1, 1)}, ["NIK_FUTURE_BIRTH"]),
        ("1502051001500001", {"as_of": date(1950, 1, 9)}, ["NIK_FUTURE_BIRTH"]),
        # serial
        ("1502051508900000", {}, ["NIK_SERIAL_ZERO"]),
        # several at once
        ("9901013513900000", {}, ["NIK_REGION_UNKNOWN", "NIK_DATE_IMPOSSIBLE", "NIK_SERIAL_ZERO"]),
        ("1502993002900001", {}, ["NIK_DISTRICT_UNKNOWN", "NIK_DATE_IMPOSSIBLE"]),
    ],
)
def test_parse_problems(text, kwargs, expected):
    result = parse(text, as_of=kwargs.get("as_of", AS_OF), birth_date=kwargs.get("birth_date"))
    assert codes(result) == expected
    for problem in result.problems:
        assert problem.message.endswith(".")
        assert problem.severity == (WARNING if problem.code in REGION_WARNINGS else ERROR)
    assert result.valid == (set(expected) <= REGION_WARNINGS)
    if result.birth_date is not None:
        assert "NIK_DATE_IMPOSSIBLE" not in expected and "NIK_FUTURE_BIRTH" not in expected


@pytest.mark.parametrize(
    "text",
    [None, "", "1.50201550890001e+15", 1.50201550890001e15, "15020155O8900001", "150201550890001"],
)
def test_unreadable_nik_gives_no_fields(text):
    result = parse(text, as_of=AS_OF)
    assert not result.valid
    assert (result.nik, result.district_code, result.birth_date, result.sex, result.serial) == (
        None,
        None,
        None,
        None,
        None,
    )


def test_sixteen_digit_problems_keep_what_can_be_read():
    unknown_region = parse("9901011508900001", as_of=AS_OF)
    assert unknown_region.nik == "9901011508900001"
    assert unknown_region.district_code == "99.01.01"
    assert unknown_region.birth_date == date(1990, 8, 15)
    impossible = parse("1502057104900001", as_of=AS_OF)
    assert impossible.birth_date is None
    assert impossible.sex == "P"
    assert parse("1502053508900001", as_of=AS_OF).sex is None


def test_messages_name_the_value():
    assert "1502015508900010.0" in parse("1502015508900010.0").problems[0].message
    assert "150201550890001" in parse("150201550890001").problems[0].message
    assert "99.01" in parse("9901011508900001").problems[0].message
    assert "15.02.99" in parse("1502991508900001").problems[0].message
    assert "2023" in parse("1502052902230001", as_of=AS_OF).problems[0].message
    long_text = "x" * 500
    assert len(parse(long_text).problems[0].message) < 200


def test_result_is_frozen():
    result = parse(NIK_F)
    assert isinstance(result, NikResult)
    with pytest.raises(AttributeError):
        result.nik = "1"  # type: ignore[misc]


# --- parse_kk --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1502050101230007", []),
        ("1502 0599 9999 0007", []),  # the middle is an issue date, not checked as a date
        ("'1571010000010001", []),
        ("1502050000000007", ["KK_ISSUE_DATE_ZERO"]),
        ("9901010101230007", ["KK_REGION_UNKNOWN"]),
        ("1502990101230007", ["KK_DISTRICT_UNKNOWN"]),
        ("150205010123000", ["KK_LENGTH"]),
        ("1.50205010123e+15", ["KK_SCIENTIFIC"]),
        (1.50205010123e15, ["KK_EXCEL_PRECISION"]),
        ("15020501O1230007", ["KK_CHARACTERS"]),
        (None, ["KK_BLANK"]),
    ],
)
def test_parse_kk(text, expected):
    result = parse_kk(text)
    assert codes(result) == expected
    assert result.valid == (expected in ([], ["KK_DISTRICT_UNKNOWN"], ["KK_REGION_UNKNOWN"]))


def test_parse_kk_fields():
    result = parse_kk("1502 0501 0123 0007")
    assert (result.kk, result.district_code, result.issue_digits, result.serial) == (
        "1502050101230007",
        "15.02.05",
        "010123",
        "0007",
    )
    assert parse_kk("").kk is None


# --- check_consistency -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nik", "sex", "born", "expected"),
    [
        (NIK_F, "P", date(1990, 8, 15), []),
        (NIK_M, "L", date(1990, 8, 15), []),
        (NIK_M, " l ", date(1990, 8, 15), []),
        (NIK_F, None, None, []),
        (NIK_F, "X", None, []),
        ("1502052902000001", "L", date(2000, 2, 29), []),
        (NIK_F, "L", date(1990, 8, 15), ["NIK_SEX_MISMATCH"]),
        (NIK_M, "P", None, ["NIK_SEX_MISMATCH"]),
        (NIK_F, "P", date(1990, 8, 16), ["NIK_BIRTHDATE_MISMATCH"]),
        (NIK_F, "P", date(1990, 9, 15), ["NIK_BIRTHDATE_MISMATCH"]),
        (NIK_F, "P", date(1991, 8, 15), ["NIK_BIRTHDATE_MISMATCH"]),
        (NIK_F, None, date(1990, 8, 25), ["NIK_BIRTHDATE_MISMATCH"]),
        (NIK_F, None, date(2090, 8, 15), []),  # only DD-MM-YY can be compared
        (NIK_F, "L", date(2000, 1, 1), ["NIK_SEX_MISMATCH", "NIK_BIRTHDATE_MISMATCH"]),
        # unreadable NIKs or NIK dates are parse()'s business
        ("150201550890001", "L", date(2000, 1, 1), []),
        ("1.50201550890001e+15", "L", date(2000, 1, 1), []),
        ("1502053513900001", "P", date(1990, 1, 1), []),
        ("1502055513900001", "L", date(1990, 1, 1), ["NIK_SEX_MISMATCH"]),
    ],
)
def test_check_consistency(nik, sex, born, expected):
    problems = check_consistency(nik, sex, born)
    assert [p.code for p in problems] == expected
    assert all(p.severity == WARNING for p in problems)


def test_mismatch_message_names_both_values():
    (problem,) = check_consistency(NIK_F, "P", date(1990, 8, 16))
    assert "15-08-90" in problem.message
    assert "1990-08-16" in problem.message


# --- build -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("15.02.01", date(1990, 8, 15), "P", 1), NIK_F),
        (("15.02.05", date(1990, 8, 15), "L", 2), NIK_M),
        (("15.71.01", date(1985, 1, 31), "P", 9999), "1571017101859999"),
        (("15.71.01", date(2000, 2, 29), "L", 10), "1571012902000010"),
    ],
)
def test_build(args, expected):
    assert build(*args) == expected


@pytest.mark.parametrize(
    "args",
    [
        ("150201", date(1990, 8, 15), "P", 1),
        ("15.2.01", date(1990, 8, 15), "P", 1),
        ("15.02.01.2001", date(1990, 8, 15), "P", 1),
        ("15.02.0a", date(1990, 8, 15), "P", 1),
        (None, date(1990, 8, 15), "P", 1),
        ("15.02.01", "1990-08-15", "P", 1),
        ("15.02.01", date(1990, 8, 15), "F", 1),
        ("15.02.01", date(1990, 8, 15), "p", 1),
        ("15.02.01", date(1990, 8, 15), "P", 0),
        ("15.02.01", date(1990, 8, 15), "P", 10000),
        ("15.02.01", date(1990, 8, 15), "P", True),
        ("15.02.01", date(1990, 8, 15), "P", 1.0),
    ],
)
def test_build_rejects_bad_input(args):
    with pytest.raises(ValueError):
        build(*args)


DISTRICTS = sorted(builtin.codes(3))


@given(
    district=st.sampled_from(DISTRICTS),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    sex=st.sampled_from(["L", "P"]),
    serial=st.integers(min_value=1, max_value=9999),
)
def test_build_round_trips_with_recorded_birth_date(district, born, sex, serial):
    nik = build(district, born, sex, serial)
    result = parse(nik, as_of=date(2099, 12, 31), birth_date=born)
    assert result.valid, result.problems
    assert result.problems == ()
    assert (result.nik, result.district_code, result.birth_date, result.sex, result.serial) == (
        nik,
        district,
        born,
        sex,
        f"{serial:04d}",
    )
    assert check_consistency(nik, sex, born) == []
    assert normalise(f"'{nik[:4]} {nik[4:8]} {nik[8:12]} {nik[12:]}") == nik


@given(
    as_of=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    data=st.data(),
    sex=st.sampled_from(["L", "P"]),
    serial=st.integers(min_value=1, max_value=9999),
)
def test_build_round_trips_within_a_hundred_years_of_as_of(as_of, data, sex, serial):
    born = data.draw(st.dates(min_value=date(as_of.year - 99, 1, 1), max_value=as_of))
    result = parse(build("15.02.05", born, sex, serial), as_of=as_of)
    assert result.valid, result.problems
    assert (result.birth_date, result.sex) == (born, sex)


@given(born=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
def test_other_sex_and_day_are_reported(born):
    nik = build("15.02.05", born, "L", 1)
    other_day = born + timedelta(days=1)
    codes_found = [p.code for p in check_consistency(nik, "P", other_day)]
    assert codes_found == ["NIK_SEX_MISMATCH", "NIK_BIRTHDATE_MISMATCH"]


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(),
        st.text(alphabet="0123456789 .-'eE+\xa0,"),
    )
)
def test_parse_never_raises(value):
    result = parse(value, as_of=AS_OF)
    assert result.nik is None or (len(result.nik) == 16 and result.nik.isdigit())
    assert result.valid == all(p.severity != ERROR for p in result.problems)
    if result.nik is None:
        assert len(result.problems) == 1 and not result.valid
    if result.valid:
        assert result.birth_date is not None and result.sex in ("L", "P")
    parse_kk(value)

"""Indicator arithmetic: percentages, distance to target, roll-up, ranks, UHC class."""

from decimal import Decimal

import duckdb
import pytest

from pesiar.coverage.services import Targets, indicator_table, pct, to_target


@pytest.mark.parametrize(
    ("count", "population", "expected"),
    [
        (7842, 10000, "78.42"),
        (1, 3, "33.33"),
        (2, 3, "66.67"),
        (1, 8, "12.50"),
        (1, 800, "0.13"),  # 0.125 rounds half up
        (1, 1600, "0.06"),  # 0.0625
        (0, 0, "0.00"),
        (5, 5, "100.00"),
    ],
)
def test_pct_rounds_half_up_to_two_decimals(count, population, expected):
    assert pct(count, population) == Decimal(expected)


@pytest.mark.parametrize(
    ("target", "population", "count", "expected"),
    [
        ("98", 100, 90, 8),
        ("98", 101, 0, 99),  # ceil(98.98) = 99
        ("75", 4, 3, 0),
        ("75", 4, 4, 0),  # never negative
        ("75", 5, 3, 1),  # ceil(3.75) = 4
        ("98", 387000, 303485, 75775),
    ],
)
def test_to_target_is_ceiling_of_target_minus_count(target, population, count, expected):
    assert to_target(Decimal(target), population, count) == expected


def test_uhc_class_takes_the_first_threshold_reached(settings):
    settings.PESIAR = {**settings.PESIAR, "UHC_CLASSES": [(95, "UHC"), (0, "NOT_YET")]}
    targets = Targets.from_settings()
    assert targets.uhc_class(Decimal("95.00")) == "UHC"
    assert targets.uhc_class(Decimal("94.99")) == "NOT_YET"


def test_indicator_table_sums_villages_into_regions_and_ranks_within_parents():
    con = duckdb.connect()
    people = [
        # village, status, segment, reason
        *[("15.02.05.1002", "ACTIVE", "PBI_APBN", None)] * 2,
        ("15.02.05.1002", "INACTIVE", "PBPU", "ARREARS"),
        ("15.02.05.1002", "NOT_REGISTERED", None, None),
        *[("15.02.05.1003", "ACTIVE", "PPU", None)] * 3,
        ("15.02.05.1003", "NOT_REGISTERED", None, None),
        ("15.02.17.2006", "ACTIVE", "PBPU", None),
        ("15.02.17.2006", "INACTIVE", "PBI_APBD", "PBI_DEACTIVATED"),
        ("15.71.01.1001", "ACTIVE", "PPU", None),
    ]
    con.execute(
        "CREATE TABLE persons (village_code VARCHAR, status VARCHAR, segment VARCHAR, "
        "reason VARCHAR)"
    )
    con.executemany("INSERT INTO persons VALUES (?, ?, ?, ?)", people)
    con.execute(
        "CREATE TABLE participant_findings AS SELECT * FROM (VALUES "
        "('15.02.05.1002', 2, 1), ('15.09.01.2001', 4, 0)) t(village_code, unmatched, "
        "deceased_listed)"
    )
    rows = indicator_table(con)
    columns = [d[0] for d in con.description]
    by_code = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}

    village = by_code["15.02.05.1002"]
    assert (village["population"], village["registered"], village["active"]) == (4, 3, 2)
    assert village["seg_PBI_APBN"] == 2 and village["why_ARREARS"] == 1
    assert (village["unmatched"], village["deceased_listed"]) == (2, 1)
    district = by_code["15.02.05"]
    assert (district["population"], district["registered"], district["active"]) == (8, 6, 5)
    regency = by_code["15.02"]
    assert (regency["population"], regency["active"]) == (10, 6)
    province = by_code["15"]
    assert province["population"] == 11 and province["unmatched"] == 6
    # 1003 (75% active) before 1002 (50%) within district 15.02.05
    assert (by_code["15.02.05.1003"]["rank"], village["rank"]) == (1, 2)
    assert village["rank_of"] == 2
    # districts of 15.02 ranked among themselves: 15.02.17 50% active vs 15.02.05 62.5%
    assert (by_code["15.02.05"]["rank"], by_code["15.02.17"]["rank"]) == (1, 2)
    # a region with participants but no residents is listed, unranked
    empty = by_code["15.09.01.2001"]
    assert empty["population"] == 0 and empty["rank"] is None
    # regencies of 15: Kota Jambi 100% active ranks first
    assert by_code["15.71"]["rank"] == 1 and regency["rank"] == 2

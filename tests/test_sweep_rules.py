"""The sweep's rules as a table: facts of a member -> flags and pathway; priority points."""

from datetime import date

import pytest

from pesiar.sweep.rules import (
    DEFAULT_WEIGHTS,
    Member,
    Thresholds,
    classify,
    explain,
    months_between,
)

AS_OF = date(2024, 6, 1)
T = Thresholds()

# (member facts, expected flags, expected pathway)
TABLE = [
    # active members get no pathway, whatever their flags
    (dict(status="ACTIVE", nik="1", decile=2), ["POOR"], ""),
    (dict(status="ACTIVE", nik="1", formal_worker=True, segment="PBPU"), ["FORMAL_NO_PPU"], ""),
    (dict(status="ACTIVE", nik="1", formal_worker=True, segment="PPU"), [], ""),
    # not registered
    (dict(status="NOT_REGISTERED", nik="1"), [], "PBPU"),
    (dict(status="NOT_REGISTERED", nik="1", decile=4), ["POOR"], "PBI_APBD"),
    (dict(status="NOT_REGISTERED", nik="1", decile=5), [], "PBPU"),
    # DTKS/DTSEN gives no decile: being listed means poor; a decile keeps its own rule
    (dict(status="NOT_REGISTERED", nik="1", welfare_listed=True), ["POOR"], "PBI_APBD"),
    (dict(status="NOT_REGISTERED", nik="1", welfare_listed=True, decile=4), ["POOR"], "PBI_APBD"),
    (dict(status="NOT_REGISTERED", nik="1", welfare_listed=True, decile=7), [], "PBPU"),
    (dict(status="INACTIVE", nik="1", welfare_listed=False), [], "PBPU"),
    (dict(status="NOT_REGISTERED", nik=""), ["NO_NIK"], "NIK_FIRST"),
    (
        dict(status="NOT_REGISTERED", nik="", stunted=True, decile=1),
        ["POOR", "STUNTED", "NO_NIK"],
        "NIK_FIRST",
    ),
    (dict(status="NOT_REGISTERED", nik="1", formal_worker=True), ["FORMAL_NO_PPU"], "EMPLOYER"),
    (
        dict(status="INACTIVE", nik="1", formal_worker=True, segment="PPU", arrears_months=2),
        [],
        "REHAB",
    ),
    (
        dict(status="NOT_REGISTERED", nik="1", formal_worker=True, decile=1),
        ["POOR", "FORMAL_NO_PPU"],
        "EMPLOYER",
    ),
    (
        dict(status="NOT_REGISTERED", nik="1", layoff_date=date(2024, 1, 15)),
        ["LAID_OFF"],
        "PHK_CONTINUATION",
    ),
    (dict(status="NOT_REGISTERED", nik="1", layoff_date=date(2023, 12, 1)), [], "PBPU"),
    (
        dict(status="NOT_REGISTERED", nik="1", layoff_date=date(2024, 1, 15), decile=3),
        ["POOR", "LAID_OFF"],
        "PBI_APBD",
    ),
    (dict(status="NOT_REGISTERED", nik="1", pregnant=True), ["PREGNANT"], "PBPU"),
    (dict(status="NOT_REGISTERED", nik="1", birth_date=date(1964, 6, 1)), ["ELDERLY"], "PBPU"),
    (dict(status="NOT_REGISTERED", nik="1", birth_date=date(1964, 6, 2)), [], "PBPU"),
    # inactive
    (dict(status="INACTIVE", nik="1", inactive_reason="ARREARS", arrears_months=7), [], "REHAB"),
    (
        dict(status="INACTIVE", nik="1", inactive_reason="ARREARS", arrears_months=7, decile=2),
        ["POOR"],
        "PBI_APBD",
    ),
    (
        dict(status="INACTIVE", nik="1", inactive_reason="PBI_DEACTIVATED", decile=3),
        ["POOR"],
        "PBI_APBD",
    ),
    (dict(status="INACTIVE", nik="1", inactive_reason="PBI_DEACTIVATED", decile=8), [], "PBPU"),
    (
        dict(
            status="INACTIVE", nik="1", inactive_reason="LAYOFF_ENDED", layoff_date=date(2024, 3, 1)
        ),
        ["LAID_OFF"],
        "PHK_CONTINUATION",
    ),
    (
        dict(status="INACTIVE", nik="1", inactive_reason="DECEASED", deceased_suspected=True),
        ["DECEASED_OR_MOVED"],
        "DATA_CORRECTION",
    ),
    (
        dict(status="INACTIVE", nik="1", moved_suspected=True, decile=1),
        ["POOR", "DECEASED_OR_MOVED"],
        "DATA_CORRECTION",
    ),
    (dict(status="INACTIVE", nik="1", inactive_reason="OTHER"), [], "PBPU"),
]


@pytest.mark.parametrize(("facts", "flags", "pathway"), TABLE)
def test_flags_and_pathway(facts, flags, pathway):
    member = classify(Member(**facts), AS_OF, T, DEFAULT_WEIGHTS)
    assert member.flags == flags
    assert member.pathway == pathway
    expected = (
        0 if pathway == "" else sum(DEFAULT_WEIGHTS[f] for f in flags) + DEFAULT_WEIGHTS[pathway]
    )
    assert member.priority == expected


def test_thresholds_come_from_settings(settings):
    settings.PESIAR = {**settings.PESIAR, "SWEEP": {"POOR_DECILE_MAX": 2, "LAYOFF_MONTHS": 12}}
    t = Thresholds.from_settings()
    member = Member(status="NOT_REGISTERED", nik="1", decile=3, layoff_date=date(2023, 7, 1))
    assert classify(member, AS_OF, t, DEFAULT_WEIGHTS).flags == ["LAID_OFF"]
    assert t.pbi_yearly == 42_000 * 12


def test_family_priority_is_explained_and_sums_members():
    weights = {**DEFAULT_WEIGHTS, "STUNTED": 50}
    members = [
        classify(Member(status="NOT_REGISTERED", nik="", stunted=True), AS_OF, T, weights),
        classify(Member(status="NOT_REGISTERED", nik="2", decile=1), AS_OF, T, weights),
        classify(Member(status="NOT_REGISTERED", nik="3", decile=1), AS_OF, T, weights),
        classify(Member(status="ACTIVE", nik="4", decile=1), AS_OF, T, weights),
    ]
    total, lines = explain(members, weights)
    assert total == sum(m.priority for m in members)
    assert lines[0] == {"key": "STUNTED", "count": 1, "weight": 50, "points": 50}
    by_key = {line["key"]: line for line in lines}
    assert by_key["POOR"] == {"key": "POOR", "count": 2, "weight": 20, "points": 40}
    assert by_key["PBI_APBD"]["count"] == 2 and "PBPU" not in by_key


@pytest.mark.parametrize(
    ("earlier", "later", "months"),
    [
        (date(2024, 1, 15), date(2024, 6, 1), 4),
        (date(2024, 1, 1), date(2024, 6, 1), 5),
        (date(2023, 12, 2), date(2024, 6, 1), 5),
        (date(2023, 12, 1), date(2024, 6, 1), 6),
        (date(2024, 6, 1), date(2024, 6, 1), 0),
    ],
)
def test_months_between(earlier, later, months):
    assert months_between(earlier, later) == months

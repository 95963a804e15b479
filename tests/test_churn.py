"""The churn radar on the demo's monthly snapshots: the changes the maps find are the changes
the generator made (per date, village and cause); losses reach the worklists; the path to the
targets on a hand-computed case."""

from collections import Counter
from datetime import date
from decimal import Decimal

import pyarrow.csv as pacsv
import pytest
from django.test import override_settings

from pesiar.coverage.churn import LOSSES
from pesiar.coverage.models import Change, Indicator
from pesiar.demo.generator import generate
from pesiar.demo.generator.months import CHANGES_FILE, month_before, write_months
from pesiar.linkage.models import LinkRun
from pesiar.linkage.pipeline import run_map
from pesiar.monev.changes import split_gap, target_path
from pesiar.monev.figures import Figures
from pesiar.registers.models import Snapshot
from pesiar.registers.services import import_register
from pesiar.sweep.models import SweepRun, WorklistItem, WorklistMember
from pesiar.sweep.pipeline import run_sweep

AS_OF = date(2024, 6, 1)


@pytest.fixture(scope="module")
def months(django_db_setup, django_db_blocker, tmp_path_factory):
    with (
        override_settings(DATA_DIR=tmp_path_factory.mktemp("churn-data")),
        django_db_blocker.unblock(),
    ):
        scenario = generate(30_000, 11, tmp_path_factory.mktemp("churn-scenario"))
        history = write_months(scenario, months=2)
        for month in history:
            import_register("population", month.population, month.as_of)
            import_register("membership", month.membership, month.as_of)
            run_map(month.as_of)
        for kind in ("population", "membership", "welfare", "layoffs", "workers"):
            import_register(kind, scenario.path(kind), AS_OF)
        run_map(AS_OF)
        run_sweep(AS_OF)
        yield scenario, history
        Change.objects.unscoped(reason="test teardown").delete()
        WorklistMember.objects.unscoped(reason="test teardown").delete()
        WorklistItem.objects.unscoped(reason="test teardown").delete()
        SweepRun.objects.all().delete()
        Indicator.objects.unscoped(reason="test teardown").delete()
        LinkRun.objects.all().delete()
        Snapshot.objects.all().delete()


def truth(scenario) -> Counter:
    table = pacsv.read_csv(
        scenario.out_dir / CHANGES_FILE,
        convert_options=pacsv.ConvertOptions(column_types={"nik": "string", "as_of": "string"}),
    )
    return Counter(
        zip(
            table.column("as_of").to_pylist(),
            table.column("village_code").to_pylist(),
            table.column("cause").to_pylist(),
            strict=True,
        )
    )


def test_the_demo_has_three_monthly_dates(months):
    _scenario, history = months
    assert [m.as_of for m in history] == [month_before(AS_OF, 2), month_before(AS_OF)]
    assert sorted(
        set(Indicator.objects.unscoped(reason="test").values_list("as_of", flat=True))
    ) == [
        date(2024, 4, 1),
        date(2024, 5, 1),
        AS_OF,
    ]


def test_churn_counts_equal_the_generators_truth_per_cause_and_village(months, db):
    scenario, _history = months
    found = Counter()
    for as_of, village, cause in Change.objects.unscoped(reason="test").values_list(
        "as_of", "village_code", "cause"
    ):
        found[(as_of.isoformat(), village, cause)] += 1
    expected = truth(scenario)
    assert found == expected
    causes = {cause for _d, _v, cause in expected}
    assert {"PBI_DEACTIVATED", "ARREARS", "REGISTERED", "REACTIVATED", "BORN", "MOVED"} <= causes
    assert not Change.objects.unscoped(reason="test").filter(as_of=date(2024, 4, 1)).exists()


def test_the_latest_figures_stay_calibrated(months, db):
    merangin = Indicator.objects.unscoped(reason="test").get(as_of=AS_OF, region_id="15.02")
    assert (merangin.coverage_pct, merangin.active_pct) == (Decimal("78.42"), Decimal("55.05"))
    assert (merangin.rank, merangin.rank_of) == (10, 11)


def test_losses_reach_the_worklists_with_pathway_and_deadline(months, db):
    losses = Change.objects.unscoped(reason="test").filter(as_of=AS_OF, cause__in=LOSSES)
    assert losses.exists() and not losses.filter(pathway="").exists()
    deactivated = losses.filter(cause="PBI_DEACTIVATED")
    assert deactivated.exists()
    assert all(c.deadline == date(2024, 11, 28) for c in deactivated)
    assert not losses.filter(cause="ARREARS").exclude(deadline=None).exists()
    flagged = WorklistMember.objects.unscoped(reason="test").filter(
        nik__in=list(losses.values_list("nik", flat=True))
    )
    assert flagged.exists() and all("LOST_RECENTLY" in m.flags for m in flagged)


# --- the path to 98/75, by hand -------------------------------------------------------------


def figures(as_of: date, population: int, registered: int, active: int, **reasons) -> Figures:
    from pesiar.coverage.services import Targets, pct, to_target

    t = Targets.from_settings()
    return Figures(
        code="15.02.05.1002",
        name="Dusun Baru",
        level=4,
        as_of=as_of,
        population=population,
        registered=registered,
        active=active,
        coverage_pct=pct(registered, population),
        active_pct=pct(active, population),
        to_target_coverage=to_target(t.coverage_pct, population, registered),
        to_target_active=to_target(t.active_pct, population, active),
        inactive_reasons=reasons,
    )


def test_path_to_target_on_a_hand_computed_case():
    # 1,000 residents, 800 registered, 600 active: 75% needs 750 active, 150 more.
    # Pools: 200 unregistered, 120 PBI deactivated, 80 in arrears (200 inactive).
    # 150 shared by 200:120:80 = 75 : 45 : 30.
    # Active 570 on 1 April, 600 on 1 June: 15 a month; 150 / 15 = 10 months: April 2025.
    # 150 people / 3.5 per family = 43 families; 2 agents: 43 / 2 / 52 = 0.4 a week.
    history = [
        figures(date(2024, 4, 1), 1000, 790, 570, ARREARS=100, PBI_DEACTIVATED=120),
        figures(date(2024, 5, 1), 1000, 795, 585, ARREARS=90, PBI_DEACTIVATED=120),
        figures(date(2024, 6, 1), 1000, 800, 600, ARREARS=80, PBI_DEACTIVATED=120),
    ]
    path = target_path(history[-1], history, agents=2)
    assert path.gap_active == 150 and path.gap_coverage == 180
    assert [(line.pathway, line.pool, line.needed) for line in path.lines] == [
        ("REGISTRATION", 200, 75),
        ("PBI_REACTIVATION", 120, 45),
        ("REHAB", 80, 30),
    ]
    assert path.pace == Decimal("15.0") and path.months == 10
    assert path.reached == date(2025, 4, 1)
    assert path.families == 43 and path.families_per_agent_week == Decimal("0.4")


def test_path_without_progress_has_no_month_and_the_gap_split_is_whole():
    flat = [
        figures(date(2024, 5, 1), 100, 80, 60, ARREARS=20),
        figures(date(2024, 6, 1), 100, 80, 60, ARREARS=20),
    ]
    path = target_path(flat[-1], flat, agents=0)
    assert path.months is None and path.reached is None and path.families_per_agent_week is None
    assert split_gap(7, {"a": 5, "b": 3, "c": 2}) == {"a": 4, "b": 2, "c": 1}
    assert split_gap(50, {"a": 5, "b": 5}) == {"a": 5, "b": 5}  # never more than the pool


def test_a_region_mapped_for_the_first_time_has_no_changes(tmp_path):
    """A district whose registers arrive later than the others' (or stop arriving) is not a
    village full of people who moved in (or left): only villages both maps cover change."""
    import duckdb

    from pesiar.coverage.churn import change_rows

    def persons(name: str, rows: list[tuple]) -> object:
        path = tmp_path / f"{name}.parquet"
        con = duckdb.connect()
        con.execute(
            "CREATE TABLE t (nik VARCHAR, kk VARCHAR, village_code VARCHAR, status VARCHAR, "
            "reason VARCHAR, segment VARCHAR, birth_date DATE)"
        )
        if rows:
            con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
        con.close()
        return path

    old, new = "15.02.05.1002", "16.09.05.2008"
    born = date(1990, 1, 1)
    previous = persons("p", [("1", "k1", old, "ACTIVE", None, "PBPU", born),
                             ("2", "k2", old, "ACTIVE", None, "PBPU", born)])  # fmt: skip
    current = persons("c", [("1", "k1", old, "ACTIVE", None, "PBPU", born),
                            ("3", "k3", new, "ACTIVE", None, "PBPU", born),
                            ("4", "k4", new, "NOT_REGISTERED", None, None, born)])  # fmt: skip
    population = tmp_path / "population.parquet"
    duckdb.execute(
        f"COPY (SELECT '1'::VARCHAR AS nik, NULL::DATE AS death_date LIMIT 0) TO '{population}'"
        " (FORMAT parquet)"
    )

    class Run:
        def __init__(self, as_of, persons_file):
            self.as_of, self.persons_file = as_of, persons_file
            self.population = type("P", (), {"data_file": population})()

    rows = change_rows(Run(AS_OF, current), Run(month_before(AS_OF, 1), previous))
    changed = {(nik, cause) for nik, _kk, _v, _from, cause, *_ in rows if cause}
    assert changed == {("2", "LEFT")}  # resident 2 left village 15.02.05.1002; 16.09 is new

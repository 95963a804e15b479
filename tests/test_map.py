"""Petakan end to end on the scenario: figures against the generator's truth."""

import csv
import io
from datetime import date

import duckdb
import pytest
from django.core.management import call_command
from django.urls import reverse

from cast import login
from pesiar.accounts.models import AccessLog
from pesiar.coverage.models import Indicator
from pesiar.demo.generator import generate
from pesiar.linkage.engines import open_engine
from pesiar.linkage.models import LinkRun, ReviewDecision, ReviewItem
from pesiar.linkage.pipeline import MapError, run_map
from pesiar.ops.duck import connect
from pesiar.registers.services import import_register

AS_OF = date(2024, 6, 1)


@pytest.fixture
def imported(scenario, settings, tmp_path, db):
    settings.DATA_DIR = tmp_path / "data"
    for kind in ("population", "membership"):
        import_register(kind, scenario.path(kind), AS_OF)
    return scenario


def truth(scenario, name):
    with scenario.truth_path(name).open() as fh:
        return {row["code"]: row for row in csv.DictReader(fh)}


def figures(level):
    rows = Indicator.objects.unscoped(reason="test").filter(as_of=AS_OF, level=level)
    return {i.region_id: i for i in rows}


def test_map_reproduces_the_truth_for_every_region(imported):
    run = run_map(AS_OF)
    assert run.status == LinkRun.Status.DONE
    villages, true_villages = figures(4), truth(imported, "villages")
    assert set(villages) == set(true_villages)
    for code, t in true_villages.items():
        got = villages[code]
        assert got.population == int(t["population"]), code
        assert abs(float(got.coverage_pct) - float(t["coverage_pct"])) <= 0.1, code
        assert abs(float(got.active_pct) - float(t["active_pct"])) <= 0.1, code

    merangin = figures(2)["15.02"]
    assert (float(merangin.coverage_pct), float(merangin.active_pct)) == (78.42, 55.05)
    assert (merangin.rank, merangin.rank_of) == (10, 11)
    in_merangin = [i for c, i in villages.items() if c.startswith("15.02.")]
    lowest = min(in_merangin, key=lambda i: (i.active / i.population, i.registered / i.population))
    highest = max(in_merangin, key=lambda i: (i.active / i.population, i.registered / i.population))
    assert (lowest.region.name, highest.region.name) == ("Dusun Baru", "Sungai Jering")
    # a region is the sum of its villages
    assert merangin.population == sum(i.population for i in in_merangin)
    assert merangin.to_target_active == max(
        0, -(-75 * merangin.population // 100) - merangin.active
    )


def test_links_are_right_against_the_truth(imported, settings):
    run = run_map(AS_OF)
    links = duckdb.sql(
        f"""
        SELECT l.method, l.nik = t.true_nik AS right
        FROM read_parquet('{run.links_file}') l
        JOIN read_parquet('{imported.truth_path("participants")}') t ON t.noka = l.noka
        """
    ).fetchall()
    stage2 = [right for method, right in links if method == "PROBABILISTIC"]
    exact = [right for method, right in links if method == "EXACT"]
    assert all(exact)
    assert sum(stage2) / len(stage2) >= 0.99  # precision of stage 2
    # recall of stage 2: the true pairs that stage 1 could not find (NIK typo or blank)
    missed_by_stage1 = duckdb.sql(
        f"""
        SELECT count(*) FROM read_parquet('{imported.truth_path("participants")}')
        WHERE kind <> 'emigrant' AND nik_noise IS NOT NULL AND NOT duplicated
        """
    ).fetchall()[0][0]
    assert sum(stage2) / missed_by_stage1 >= 0.95
    assert run.counts["participants_without_resident"] >= 0
    assert run.parameters["model"]["comparisons"]


def test_review_decisions_hold_in_later_runs(imported):
    # Everything from stage 2 goes to review when the upper threshold is out of reach.
    first = run_map(AS_OF, upper=1.5)
    items = list(ReviewItem.objects.unscoped(reason="test").filter(run=first))
    assert len(items) == first.counts["review_pending"] > 10
    accept, reject = items[:5], items[5:8]
    for item, decision in [(i, "ACCEPT") for i in accept] + [(i, "REJECT") for i in reject]:
        ReviewDecision.objects.create(
            resident_nik=item.resident_nik,
            noka=item.noka,
            village_code=item.village_code,
            decision=decision,
        )
    second = run_map(AS_OF, upper=1.5)
    assert second.counts["review_accepted_earlier"] == 5
    assert second.counts["review_rejected_earlier"] == 3
    assert second.counts["review_pending"] == len(items) - 8
    methods = dict(
        duckdb.sql(f"SELECT noka, method FROM read_parquet('{second.links_file}')").fetchall()
    )
    assert all(methods.get(i.noka) == "REVIEW" for i in accept)
    assert not any(i.noka in methods for i in reject)


def test_map_uses_the_latest_snapshot_before_the_date_and_says_so(imported, capsys):
    call_command("map", "--as-of", "2024-07-15")
    out = capsys.readouterr().out
    assert "population: #" in out and "(latest before 2024-07-15)" in out
    assert "stage 1, NIK:" in out and "stage 2, probabilistic:" in out
    call_command("indicators", "--as-of", "2024-07-15", "--level", "regency", "--format", "csv")
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][:10] == [
        "code",
        "name",
        "population",
        "registered",
        "active",
        "coverage_pct",
        "active_pct",
        "to_target_coverage",
        "to_target_active",
        "rank",
    ]
    merangin = next(r for r in rows if r[0] == "15.02")
    assert merangin[5:7] == ["78.42", "55.05"] and merangin[9] == "10"


@pytest.mark.django_db
def test_map_without_snapshots_says_what_to_import(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    with pytest.raises(MapError, match="pesiar import population"):
        run_map(AS_OF)


def test_the_map_has_its_own_duckdb_memory_limit(settings, tmp_path):
    settings.PESIAR = {**settings.PESIAR, "DUCKDB_MEMORY": "1GB", "MAP_DUCKDB_MEMORY": "2GB"}
    limit = "SELECT current_setting('memory_limit')"
    with open_engine("duckdb", tmp_path / "map") as con:
        assert con.execute(limit).fetchone()[0] == "1.8 GiB"  # 2e9 bytes
    with connect(tmp_path / "import") as con:
        assert con.execute(limit).fetchone()[0] == "953.6 MiB"  # 1e9 bytes


@pytest.fixture
def review_run(scenario, settings, tmp_path, db):
    settings.DATA_DIR = tmp_path / "data"
    for kind in ("population", "membership"):
        import_register(kind, scenario.path(kind), AS_OF)
    return run_map(AS_OF, upper=1.5)  # nothing accepted without review


def test_officer_reviews_pairs_side_by_side_and_the_decision_is_kept(client, review_run):
    officer = login(client, "bpjs", "branch", ["15.02"])
    page = client.get(reverse("linkage:review")).content.decode()
    mine = ReviewItem.objects.for_user(officer)
    assert mine.exists() and mine.count() < ReviewItem.objects.unscoped(reason="t").count()
    item = mine.first()
    assert item.resident["name"] in page
    detail = client.get(reverse("linkage:review_item", args=[item.pk])).content.decode()
    assert item.participant["name"] in detail and item.noka in detail
    assert item.resident_nik in detail  # branch officers see the full NIK
    response = client.post(reverse("linkage:review_item", args=[item.pk]), {"decision": "ACCEPT"})
    assert response.status_code == 302
    decision = ReviewDecision.objects.for_user(officer).get(noka=item.noka)
    assert (decision.decision, decision.decided_by) == ("ACCEPT", officer)
    listed = client.get(reverse("linkage:review")).content.decode()
    assert reverse("linkage:review_item", args=[item.pk]) not in listed  # decided: off the list
    assert AccessLog.objects.filter(user=officer, kind="page").exists()
    second = run_map(AS_OF, upper=1.5)
    assert second.counts["review_accepted_earlier"] == 1


def test_nik_is_masked_for_officers_who_do_not_need_it(client, review_run):
    officer = login(client, "dinkes", "regency", ["15.02"], office="dinkes")
    item = ReviewItem.objects.for_user(officer).first()
    detail = client.get(reverse("linkage:review_item", args=[item.pk])).content.decode()
    assert item.resident_nik not in detail
    assert item.resident_nik[:4] + "*" * 12 in detail


def test_other_regions_items_and_other_roles_are_refused(client, review_run):
    officer = login(client, "tebo", "regency", ["15.09"], office="dinkes")
    outside = ReviewItem.objects.unscoped(reason="t").filter(village_code__startswith="15.02.")
    assert client.get(reverse("linkage:review_item", args=[outside.first().pk])).status_code == 404
    assert not ReviewItem.objects.for_user(officer).filter(village_code__startswith="15.02.")
    login(client, "agen", "agent", ["15.02.05.1002"])
    assert client.get(reverse("linkage:review")).status_code == 403
    login(client, "lihat", "viewer", ["15"])
    assert client.get(reverse("linkage:review")).status_code == 403


@pytest.fixture(scope="module")
def hard_scenario(tmp_path_factory):
    return generate(30_000, 3, tmp_path_factory.mktemp("hard"), noise="hard")


def test_twins_are_linked_each_to_their_own_card(hard_scenario, settings, tmp_path, db):
    """Twins share a KK, a birth date and all of the NIK but the serial; the hard profile
    puts one twin's NIK on the other's card. Each twin's card goes to that twin."""
    settings.DATA_DIR = tmp_path / "data"
    for kind in ("population", "membership"):
        import_register(kind, hard_scenario.path(kind), AS_OF)
    run = run_map(AS_OF)
    cards, swapped, right, wrong = duckdb.sql(
        f"""
        WITH t AS (SELECT * FROM read_parquet('{hard_scenario.truth_path("participants")}')
                   WHERE NOT duplicated),
             r AS (SELECT * FROM read_parquet('{hard_scenario.truth_path("residents")}')
                   WHERE twin_nik IS NOT NULL AND alive),
             m AS (SELECT NOKA AS noka, NIK AS nik
                   FROM read_csv('{hard_scenario.path("membership")}', all_varchar = true))
        SELECT count(*), count(*) FILTER (WHERE m.nik = r.twin_nik),
               count(*) FILTER (WHERE l.nik = t.true_nik),
               count(*) FILTER (WHERE l.nik <> t.true_nik)
        FROM t JOIN r ON r.nik = t.true_nik JOIN m ON m.noka = t.noka
        LEFT JOIN read_parquet('{run.links_file}') l ON l.noka = t.noka
        """
    ).fetchall()[0]
    assert cards >= 50 and swapped >= 1
    assert (right, wrong) == (cards, 0)

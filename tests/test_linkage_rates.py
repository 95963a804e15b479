"""Linkage rates without truth: by sex x age band and by village, far-below groups flagged;
shown in the run summary, by `pesiar map` and on the run page (scoped, in Indonesian)."""

from datetime import date
from io import StringIO

import duckdb
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from linkage_world import registers, write
from pesiar.accounts.services import ensure_user
from pesiar.linkage import rates
from pesiar.linkage.models import LinkRun
from pesiar.registers.services import import_register

AS_OF = date(2024, 6, 1)


def persons(rows):
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE persons (village_code VARCHAR, sex VARCHAR, birth_date DATE, noka VARCHAR)"
    )
    con.executemany("INSERT INTO persons VALUES (?, ?, ?, ?)", rows)
    return con


def test_counts_by_band_and_village_and_the_village_far_below_is_flagged():
    rows = []
    for v in range(6):
        village = f"15.02.05.100{v}"
        for i in range(100):
            linked = i < (40 if v == 5 else 90)  # village 5 links 40%, the others 90%
            birth = date(2010 if i % 2 else 1970, 1, 1)
            rows.append((village, "LP"[i % 4 // 2], birth, "N" if linked else None))
    stored = rates.count_groups(persons(rows), AS_OF)
    table = rates.table(stored)
    assert table["residents"] == 600 and table["linked"] == 90 * 5 + 40
    assert [v["village"] for v in table["flagged"]] == ["15.02.05.1005"]
    assert table["villages"][0]["village"] == "15.02.05.1005"  # worst first
    cells = {(r["sex"], r["band"]): r for r in table["bands"]}
    assert cells[("L", "0-19")]["residents"] + cells[("P", "0-19")]["residents"] == 300
    assert cells[("L", "40-59")]["residents"] + cells[("P", "40-59")]["residents"] == 300
    assert not any(r["flagged"] for r in table["bands"])
    only_1001 = rates.table(stored, lambda code: code == "15.02.05.1001")
    assert [v["village"] for v in only_1001["villages"]] == ["15.02.05.1001"]
    assert rates.summary(stored)["flagged_villages"] == ["15.02.05.1005"]


def test_a_band_far_below_is_flagged():
    rows = []
    for i in range(800):
        birth = (date(2015, 1, 1), date(1995, 1, 1), date(1975, 1, 1), date(1950, 1, 1))[i % 4]
        sex = "LP"[i // 4 % 2]
        linked = not (sex == "L" and birth.year == 1995) or i % 3 == 0  # men 20-39: a third
        rows.append(("15.02.05.1001", sex, birth, "N" if linked else None))
    summary = rates.summary(rates.count_groups(persons(rows), AS_OF))
    assert summary["flagged_bands"] == ["L 20-39"]


@pytest.fixture
def run(tmp_path, settings, db):
    settings.DATA_DIR = tmp_path / "data"
    residents, cards = registers(21, people=200, villages=3)
    population, membership = write(tmp_path, residents, cards)
    import_register("population", population, AS_OF)
    import_register("membership", membership, AS_OF)
    out = StringIO()
    call_command("map", "--as-of", AS_OF.isoformat(), stdout=out, stderr=StringIO())
    run = LinkRun.objects.get()
    run.cli = out.getvalue()
    return run


def test_run_summary_cli_and_page_show_the_rates_of_the_users_regions(client, run):
    summary = run.parameters["linkage_summary"]
    assert set(summary["bands"]) == {f"{s} {b}" for s in "LP" for b in rates.BANDS}
    assert 0 < summary["rate"] < 100
    assert "linked " in run.cli and "villages far below the others" in run.cli
    officer = ensure_user("bpjs", role="branch", scopes=["15.02"], password="x-Rahasia-123")
    client.force_login(officer)
    with translation.override("id"):
        page = client.get(reverse("linkage:run", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="id")
    text = page.content.decode()
    assert page.status_code == 200
    assert "15.02.05.1002" in text
    assert "15.71.10.1004" not in text and "15.01.01.1004" not in text  # other regencies
    assert "Bagian penduduk yang tertaut" in text
    agent = ensure_user("agen", role="agent", scopes=["15.02.05.1002"], password="x-Rahasia-123")
    client.force_login(agent)
    assert client.get(reverse("linkage:run", args=[run.pk])).status_code == 403


def test_run_page_shows_why_a_run_failed(client, run):
    run.status, run.message = LinkRun.Status.FAILED, "step status: OSError: disk full"
    run.save()
    client.force_login(ensure_user("adm", role="admin", password="x-Rahasia-123"))
    text = client.get(reverse("linkage:run", args=[run.pk])).content.decode()
    assert "step status: OSError: disk full" in text
    assert (
        reverse("linkage:run", args=[run.pk])
        in client.get(reverse("linkage:runs")).content.decode()
    )

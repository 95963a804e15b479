"""Incremental linkage: a second run scores only new or changed records, keeps the earlier
links that still hold, and ends with the links a full run would give."""

import random
from datetime import date

import duckdb
import pytest

from linkage_world import VILLAGES, registers, write
from pesiar.linkage import incremental
from pesiar.linkage.models import LinkRun
from pesiar.linkage.pipeline import run_map
from pesiar.regions.nik import build
from pesiar.registers.services import import_register

pytestmark = pytest.mark.django_db

FIRST, SECOND = date(2024, 6, 1), date(2024, 7, 1)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def imported(tmp_path, residents, cards, as_of):
    population, membership = write(tmp_path, residents, cards)
    import_register("population", population, as_of)
    import_register("membership", membership, as_of)


def links(run: LinkRun) -> set[tuple]:
    return set(
        duckdb.sql(f"SELECT nik, noka, method FROM read_parquet('{run.links_file}')").fetchall()
    )


def test_incremental_run_equals_a_full_run(tmp_path, monkeypatch):
    residents, cards = registers(11, people=300, villages=2, stage2="only")
    imported(tmp_path, residents, cards, FIRST)
    first = run_map(FIRST)
    assert first.parameters["training"]["path"] in ("trained", "partly fixed")

    # A month later: some names and birth dates retyped, newcomers with their cards.
    rng = random.Random(5)
    for card in rng.sample(cards, 12):
        card[1] = card[1].replace("A", "AA", 1)
    for resident in rng.sample(residents, 8):
        resident[4] = "01-07-" + resident[4][-4:]
    for i in range(15):
        birth = date(1970 + i, 3, 4)
        nik = build(VILLAGES[0][:8], birth, "L", 9000 + i)
        kk = f"{VILLAGES[0].replace('.', '')[:6]}0101{9000 + i:06d}"
        residents.append([nik, kk, f"BARU ORANG{i}", "L", birth.strftime("%d-%m-%Y"), VILLAGES[0]])
        card_nik = nik[:-4] + "5999"  # a wrong serial: stage 2
        cards.append([card_nik, f"BARU ORANG{i}", "L", birth.strftime("%d/%m/%Y"), kk, VILLAGES[0]])
    imported(tmp_path, residents, cards, SECOND)

    again = run_map(SECOND)
    assert again.status == LinkRun.Status.DONE
    assert again.parameters["training"]["path"] == "reused"
    since = again.parameters["training"]["incremental"]
    assert since["previous_run"] == first.pk
    assert since["kept_links"] > 100
    assert 15 <= since["fresh_participants"] < again.counts["participants"] // 2
    assert again.counts["probabilistic_links_kept"] == since["kept_links"]

    monkeypatch.setattr(incremental, "ENABLED", False)
    full = run_map(SECOND)
    assert "incremental" not in full.parameters["training"]
    assert full.parameters["training"]["path"] == "reused"
    assert links(again) == links(full)
    newcomers = {n for n, _, _ in links(again) if n[-4:].startswith("90")}
    assert len(newcomers) == 15


def test_retrain_runs_in_full(tmp_path):
    residents, cards = registers(11, people=300, villages=2, stage2="only")
    imported(tmp_path, residents, cards, FIRST)
    run_map(FIRST)
    retrained = run_map(FIRST, retrain=True)
    assert "incremental" not in retrained.parameters["training"]

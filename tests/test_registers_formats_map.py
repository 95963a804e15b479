"""The map over registers in real formats: one person across OpenSID, DTKS and VClaim files;
Merauke residents whose NIKs carry the regency code retired in 2022."""

import csv
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pesiar.linkage.models import LinkRun
from pesiar.linkage.pipeline import run_map
from pesiar.regions.services import load_regions
from pesiar.registers.models import Snapshot
from pesiar.registers.services import import_register
from snapshot_rows import accepted_rows

FORMATS = Path(__file__).parent / "data" / "registers" / "formats"
AS_OF = date(2024, 6, 30)
SITI_NIK = "1502055003750011"
KK1, KK2 = "1502050101100001", "1502050202150002"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


def rows(result) -> list[dict]:
    return accepted_rows(Snapshot.objects.get(pk=result.snapshot_id))


def test_one_person_in_opensid_dtks_and_vclaim_is_linked():
    population = import_register(
        "population", FORMATS / "opensid_template.xlsm", AS_OF, village="15.02.05.1002"
    )
    welfare = import_register("welfare", FORMATS / "dtks.csv", AS_OF)
    membership = import_register("membership", FORMATS / "vclaim.jsonl", AS_OF)
    assert population.profile == "OpenSID import template"
    assert welfare.profile == "DTKS / DTSEN (SIKS-NG export)"
    assert membership.profile == "BPJS VClaim peserta (JSON)"
    assert SITI_NIK in {r["nik"] for r in rows(welfare)}

    run = run_map(AS_OF)
    assert run.status == LinkRun.Status.DONE
    folder = Path(run.folder)
    from django.conf import settings

    links = pq.read_table(Path(settings.DATA_DIR) / folder / "links.parquet").to_pylist()
    by_nik = {link["nik"]: link for link in links}
    assert by_nik[SITI_NIK]["noka"] == "0001234567801"
    # the living residents: MARYAM died and DEWI moved away (OpenSID status_dasar 2 and 3)
    assert run.counts["population"] == 6 and run.counts["residents"] == 8
    persons = duckdb.sql(
        f"SELECT nik, status FROM read_parquet('{Path(settings.DATA_DIR) / folder}"
        "/persons.parquet')"
    ).fetchall()
    status = dict(persons)
    assert status[SITI_NIK] == "ACTIVE"
    assert None in status  # the baby without a NIK is counted, not registered


def test_merauke_residents_with_9101_and_9301_niks_all_count(tmp_path):
    load_regions(within="93")
    population = import_register("population", FORMATS / "merauke.csv", AS_OF)
    assert (population.rows_read, population.accepted, population.rejected) == (300, 300, 0)
    assert population.reasons["NIK_REGION_RETIRED"] == {"severity": "warning", "rows": 150}
    assert population.reasons["KK_REGION_RETIRED"] == {"severity": "warning", "rows": 150}
    with (FORMATS / "merauke.csv").open() as fh:
        residents = list(csv.DictReader(fh))
    membership = tmp_path / "peserta.csv"
    with membership.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["NOKA", "NIK", "NAMA", "JENIS_KELAMIN", "TGL_LAHIR", "SEGMEN", "KELAS",
                         "STATUS"])  # fmt: skip
        for i, r in enumerate(residents[:20]):
            writer.writerow([f"{9000000000000 + i}", r["NIK"], r["NAMA_LGKP"],
                             r["JENIS_KLMIN"], r["TGL_LHR"], "PBI APBN", "3", "AKTIF"])  # fmt: skip
    import_register("membership", membership, AS_OF)
    run = run_map(AS_OF)
    assert run.status == LinkRun.Status.DONE
    assert run.counts["population"] == 300
    from pesiar.coverage.models import Indicator

    village = Indicator.objects.unscoped(reason="test").get(as_of=AS_OF, region_id="93.01.01.1002")
    assert village.population == 300 and village.registered == 20


def test_listed_in_dtks_means_poor_in_the_sweep():
    # DTKS/DTSEN lists the poor and gives no decile: being listed is what counts.
    from pesiar.sweep.models import WorklistMember
    from pesiar.sweep.pipeline import run_sweep

    import_register("population", FORMATS / "opensid_template.xlsm", AS_OF, village="15.02.05.1002")
    welfare = import_register("welfare", FORMATS / "dtks.csv", AS_OF)
    import_register("membership", FORMATS / "vclaim.jsonl", AS_OF)
    assert {r["decile"] for r in rows(welfare)} == {None}
    listed = {r["nik"] for r in rows(welfare)}
    run_map(AS_OF)
    run_sweep(AS_OF)
    members = {
        m.nik: m
        for m in WorklistMember.objects.unscoped(reason="test").filter(item__kk__in=[KK1, KK2])
    }
    rudi = members["1502050301990012"]  # in arrears, and in DTKS
    assert rudi.status == "INACTIVE"
    assert "POOR" in rudi.flags and rudi.pathway == "PBI_APBD"
    assert all("POOR" in m.flags for nik, m in members.items() if nik in listed)
    assert all("POOR" not in m.flags for nik, m in members.items() if nik not in listed)
    rina = next(m for m in members.values() if m.name == "RINA MARLINA")  # not in DTKS
    assert rina.status == "NOT_REGISTERED" and "POOR" not in rina.flags
    assert rina.pathway == "PBPU"

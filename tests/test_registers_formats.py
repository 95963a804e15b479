"""Registers in the formats that really exist: one file per profile, written by
tests/data/registers/formats/make_formats.py from the public sources' headers and codes."""

from datetime import date
from pathlib import Path

import pytest

from pesiar.registers.models import Snapshot
from pesiar.registers.services import RegisterImportError, import_register
from snapshot_rows import accepted_rows

FORMATS = Path(__file__).parent / "data" / "registers" / "formats"
AS_OF = date(2024, 6, 30)
VILLAGE = "15.02.05.1002"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


def rows_of(result) -> list[dict]:
    return accepted_rows(Snapshot.objects.get(pk=result.snapshot_id))


def imported(kind: str, name: str, **kwargs):
    result = import_register(kind, FORMATS / name, AS_OF, **kwargs)
    assert result.rows_read == result.accepted + result.rejected
    rows = rows_of(result)
    return result, {r["name"] if "name" in r else r.get("child_name"): r for r in rows}


def errors(result) -> dict:
    return {c: i for c, i in result.reasons.items() if i["severity"] == "error"}


@pytest.mark.parametrize("name", ["opensid_template.xlsm", "opensid_export.xlsx"])
def test_opensid_template_and_export(name):
    result, people = imported("population", name, village=VILLAGE)
    assert result.profile == "OpenSID import template"
    assert result.format == ("xlsx" if name.endswith("xlsx") else "xlsm") or result.format
    assert result.rows_read == 8 and result.accepted == 8  # the ### row ends the data
    assert not errors(result)
    head = people["AHMAD SUBARJO"]
    assert (head["sex"], head["family_relation"], head["life_status"]) == (
        "L",
        "KEPALA KELUARGA",
        "ALIVE",
    )
    assert head["birth_date"] == date(1970, 5, 20) and head["village_code"] == VILLAGE
    # sex as 1/2 and L/P/LK/Pr; kk_level codes; status_dasar 2 MATI, 3 PINDAH
    assert {p["sex"] for p in people.values()} == {"L", "P"}
    assert people["SITI AMINAH"]["family_relation"] == "ISTRI"
    assert people["MARYAM"]["life_status"] == "DECEASED"
    assert people["MARYAM"]["family_relation"] == "ORANG TUA"
    assert people["DEWI LESTARI"]["life_status"] == "MOVED"
    # nik = 0: no NIK yet; the baby is kept, without a NIK
    assert people["PUTRI AYU"]["nik"] is None
    assert "NIK_BLANK" in people["PUTRI AYU"]["warnings"]


def test_opensid_file_needs_its_village():
    with pytest.raises(RegisterImportError, match="--village CODE"):
        import_register("population", FORMATS / "opensid_template.xlsm", AS_OF)
    with pytest.raises(RegisterImportError, match="not a village in the region tree"):
        import_register(
            "population", FORMATS / "opensid_template.xlsm", AS_OF, village="15.02.05.9999"
        )


def test_opensid_siak_xls():
    result, people = imported("population", "opensid_siak.xls", village=VILLAGE)
    assert result.profile == "OpenSID SIAK village export" and result.format == "xls"
    assert (result.rows_read, result.accepted) == (7, 7)  # empty trailing rows skipped
    assert not errors(result)
    siti = people["SITI AMINAH"]
    assert (siti["sex"], siti["family_relation"], siti["life_status"]) == ("P", "ISTRI", "ALIVE")
    # a date cell and a bare Excel serial number both read as dates; RT/RW 1.0 as "1"
    assert siti["birth_date"] == date(1975, 3, 10)
    assert people["AHMAD SUBARJO"]["birth_date"] == date(1970, 5, 20)
    assert (siti["rt"], siti["rw"]) == ("1", "2")
    assert people["MARYAM"]["life_status"] == "DECEASED"
    assert people["DEWI LESTARI"]["life_status"] == "MOVED"


def test_siak_dkb_codes_words_and_region_parts():
    result, people = imported("population", "siak_dkb.csv")
    assert result.profile == "SIAK / Dukcapil DKB (BIODATA_WNI)"
    assert (result.rows_read, result.accepted) == (7, 7)
    assert {p["village_code"] for p in people.values()} == {VILLAGE}
    assert people["AHMAD SUBARJO"]["family_relation"] == "KEPALA KELUARGA"  # code 1
    assert people["SITI AMINAH"]["family_relation"] == "ISTRI"  # the word
    assert people["SITI AMINAH"]["sex"] == "P" and people["RUDI HARTONO"]["sex"] == "L"
    assert people["MARYAM"]["death_date"] == date(2024, 3, 15)


def test_dtks_names_matched_to_codes_and_unmatched_reported():
    result, _ = imported("welfare", "dtks.csv")
    assert result.profile == "DTKS / DTSEN (SIKS-NG export)" and result.delimiter == "|"
    assert (result.rows_read, result.accepted) == (4, 4)
    rows = rows_of(result)
    assert sum(r["village_code"] == VILLAGE for r in rows) == 3
    assert all(r["decile"] is None for r in rows)  # listed, no decile
    assert any("DUSUN ANTAH" in note for note in result.notes)
    assert result.reasons["VILLAGE_INVALID"]["severity"] == "warning"


def test_p3ke_kode_kemdagri_and_decile():
    result, _ = imported("welfare", "p3ke.xlsx")
    assert result.profile == "P3KE (Kemenko PMK)"
    assert (result.rows_read, result.accepted) == (4, 4) and not result.reasons
    rows = rows_of(result)
    assert [r["decile"] for r in rows] == [1, 2, 3, 4]
    assert {r["village_code"] for r in rows} == {VILLAGE}


def test_eppgbm_latest_measurement_and_stunting():
    result, children = imported("stunting", "eppgbm.csv")
    assert result.profile == "e-PPGBM / Sigizi measurements"
    assert (result.rows_read, result.accepted) == (3, 3)  # five measurements, three children
    assert any("earlier measurements" in n and n.endswith(": 2") for n in result.notes)
    bayu, nadia = children["BAYU PRATAMA"], children["NADIA PUTRI"]
    assert bayu["measured_on"] == date(2024, 5, 12) and bayu["height_z"] == -2.31
    assert bayu["stunted"] is True and nadia["stunted"] is False  # stunted before, not now
    assert bayu["village_code"] == VILLAGE and bayu["sex"] == "L"
    assert children["PUTRI AYU"]["child_nik"] is None and children["PUTRI AYU"]["stunted"]


def test_bpjs_extract_segments_status_arrears():
    result, people = imported("membership", "bpjs_extract.csv")
    assert result.profile == "BPJS Kesehatan membership extract"
    assert (result.rows_read, result.accepted) == (4, 4) and not errors(result)
    rudi = people["RUDI HARTONO"]
    assert (rudi["segment"], rudi["class"], rudi["status"]) == ("PBPU", 2, "INACTIVE")
    assert (rudi["inactive_reason"], rudi["arrears_amount"]) == ("ARREARS", 420000)
    assert people["AHMAD SUBARJO"]["segment"] == "PBI_APBN"
    assert people["JOKO SUSILO"]["segment"] == "PPU"
    assert people["RINA MARLINA"]["segment"] == "PBI_APBD"


def test_vclaim_json_lines():
    result, people = imported("membership", "vclaim.jsonl")
    assert result.profile == "BPJS VClaim peserta (JSON)" and result.format == "json"
    assert (result.rows_read, result.accepted) == (4, 4) and not errors(result)
    siti = people["SITI AMINAH"]
    assert (siti["noka"], siti["status"], siti["segment"], siti["class"]) == (
        "0001234567801",
        "ACTIVE",
        "PBI_APBN",
        3,
    )
    assert siti["inactive_reason"] is None and siti["faskes_code"] == "10020301"
    assert people["RUDI HARTONO"]["status"] == "INACTIVE"
    assert people["RUDI HARTONO"]["inactive_reason"] == "ARREARS"
    assert people["MARYAM"]["inactive_reason"] == "DECEASED"


def test_pcare_json():
    result, people = imported("membership", "pcare.json")
    assert result.profile == "BPJS PCare peserta (JSON)"
    assert (result.rows_read, result.accepted) == (2, 2)
    joko, rina = people["JOKO SUSILO"], people["RINA MARLINA"]
    assert (joko["status"], joko["segment"], joko["class"]) == ("ACTIVE", "PBPU", 3)
    assert (rina["status"], rina["arrears_amount"]) == ("INACTIVE", 255000)
    assert rina["birth_date"] == date(1988, 2, 28)


def test_no_profile_matches_names_the_nearest(tmp_path):
    path = tmp_path / "almost_opensid.csv"
    path.write_text("alamat,dusun,rw,rt,nama,no_kk,sex,kk_level\nJl,Satu,1,1,A,1,1,1\n")
    with pytest.raises(RegisterImportError) as caught:
        import_register("population", path, AS_OF)
    message = str(caught.value)
    assert "Nearest known format: OpenSID import template" in message
    assert "nik, tanggallahir are not in the file" in message


def test_format_can_be_named_and_must_fit_the_register():
    result = import_register("population", FORMATS / "siak_dkb.csv", AS_OF, format_name="siak-dkb")
    assert result.profile == "SIAK / Dukcapil DKB (BIODATA_WNI)"
    with pytest.raises(RegisterImportError, match="is a welfare register, not population"):
        import_register("population", FORMATS / "dtks.csv", AS_OF, format_name="dtks")


def test_numeric_nik_cells_are_flagged_and_the_resident_kept(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["NIK", "NO_KK", "NAMA", "JENIS_KELAMIN", "TGL_LHR", "KODE_DESA"])
    ws.append([1502052005700010, "1502050101100001", "A", "L", "1970-05-20", VILLAGE])
    ws.append([" '1502055003750011", "1502050101100001", "B", "P", "1975-03-10", VILLAGE])
    path = tmp_path / "numeric.xlsx"
    wb.save(path)
    result = import_register("population", path, AS_OF)
    assert (result.rows_read, result.accepted) == (2, 2)
    assert result.reasons["NIK_EXCEL_PRECISION"] == {"severity": "warning", "rows": 1}
    rows = rows_of(result)
    assert rows[0]["nik"] is None and rows[1]["nik"] == "1502055003750011"


def test_column_errors_come_before_the_existing_snapshot(tmp_path):
    import_register("population", FORMATS / "siak_dkb.csv", AS_OF)
    path = tmp_path / "no_names.csv"
    path.write_text("NIK,KODE_DESA\n1502052005700010,15.02.05.1002\n")
    with pytest.raises(RegisterImportError) as caught:
        import_register("population", path, AS_OF)
    assert "missing required column" in str(caught.value)
    assert "--replace" not in str(caught.value)


def test_the_sweep_takes_only_the_stunted_children_of_a_measurement_list():
    import duckdb

    from pesiar.sweep.gather import load_lists

    import_register("stunting", FORMATS / "eppgbm.csv", AS_OF)
    con = duckdb.connect()
    load_lists(con, AS_OF)
    names = {name for (name,) in con.execute("SELECT child_name FROM stunting").fetchall()}
    assert names == {"BAYU PRATAMA", "PUTRI AYU"}  # NADIA PUTRI is no longer stunted

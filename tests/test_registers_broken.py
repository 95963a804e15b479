"""Broken files as agencies really send them (tests/data/registers/broken/, one fault each).

A file that cannot be imported at all is refused with a message naming the file, and the line
and column where there is one; nothing is written. A file that can be imported is: every row
read is accepted or rejected (rows_read = accepted + rejected), with the reason on its line.
"""

import csv
from datetime import date
from pathlib import Path

import pytest

from pesiar.registers.models import Snapshot
from pesiar.registers.services import ImportResult, RegisterImportError, import_register
from snapshot_rows import accepted_rows

BROKEN = Path(__file__).parent / "data" / "registers" / "broken"
AS_OF = date(2024, 6, 1)
VILLAGE = "15.02.05.1002"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


class Imported:
    """An import's result with its snapshot's accepted rows and rejects, read back."""

    def __init__(self, result: ImportResult):
        self.result = result
        assert result.rows_read == result.accepted + result.rejected
        self.snapshot = Snapshot.objects.get(pk=result.snapshot_id)
        self.accepted = accepted_rows(self.snapshot)
        assert len(self.accepted) == result.accepted == self.snapshot.accepted
        self.rejects: list[dict[str, str]] = []
        if result.rejected:
            with self.snapshot.rejects_file.open(encoding="utf-8", newline="") as fh:
                self.rejects = list(csv.DictReader(fh))
        assert len(self.rejects) == result.rejected

    def line(self, number: int) -> dict:
        return next(r for r in self.accepted if r["line"] == number)

    def reject(self, number: int) -> dict[str, str]:
        return next(r for r in self.rejects if int(r["line"]) == number)

    @property
    def lines(self) -> tuple[list[int], list[int]]:
        return [r["line"] for r in self.accepted], [int(r["line"]) for r in self.rejects]


def run(kind: str, name: str, **kwargs) -> Imported:
    return Imported(import_register(kind, BROKEN / name, AS_OF, **kwargs))


def refused(kind: str, name: str, **kwargs) -> str:
    with pytest.raises(RegisterImportError) as caught:
        import_register(kind, BROKEN / name, AS_OF, **kwargs)
    message = str(caught.value)
    assert str(BROKEN / name) in message  # names the file
    assert not Snapshot.objects.exists()
    return message


def nothing_written(data_dir: Path) -> None:
    root = data_dir / "registers"
    leftovers = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    assert leftovers == []


# --- files refused as a whole ---------------------------------------------------------


def test_empty_file(data_dir):
    message = refused("population", "empty.csv")
    assert "empty (0 bytes)" in message
    nothing_written(data_dir)


def test_header_only(data_dir):
    message = refused("population", "header_only.csv")
    assert "line 1" in message and "no data rows" in message
    assert "NIK, NAMA_LGKP, JENIS_KLMIN" in message
    nothing_written(data_dir)


def test_pipe_delimiter_is_read():
    # SIKS-NG (DTKS) exports are |-delimited: read like , ; and tab.
    imported = run("population", "pipe_delimiter.csv")
    assert imported.result.delimiter == "|" and imported.result.accepted > 0


def test_wrong_delimiter_names_the_header_and_the_delimiter(data_dir, tmp_path):
    path = tmp_path / "colon.csv"
    path.write_text((BROKEN / "pipe_delimiter.csv").read_text().replace("|", ":"))
    with pytest.raises(RegisterImportError) as caught:
        import_register("population", path, AS_OF)
    message = str(caught.value)
    assert "line 1" in message and "missing required column" in message
    assert "NIK:NAMA_LGKP:JENIS_KLMIN:TGL_LHR:NO_KK:KODE_DESA" in message  # what was found
    assert "another delimiter" in message and ", ; tab or |" in message


def test_missing_required_column_lists_expected_and_found(data_dir):
    message = refused("population", "missing_column.csv")
    assert "line 1" in message
    # Expected, with the accepted source names...
    assert "birth_date (or TGL_LHR, TANGGAL_LAHIR)" in message
    assert "village_code (or KODE_DESA, KODE_WILAYAH)" in message
    assert "NO_PROP, NO_KAB, NO_KEC, NO_KEL" in message
    # ...present ones not called missing, and the columns found.
    assert "nik (or" not in message and "name (or" not in message
    assert "Columns found: NIK, NAMA_LGKP, JENIS_KLMIN, NO_KK, DESA." in message
    assert "--mapping" in message
    nothing_written(data_dir)


def test_merged_header_cells_name_the_empty_cell(data_dir):
    message = refused("stunting", "merged_header.xlsx")
    assert "line 1, cell C1" in message
    assert "merged header cells must be unmerged" in message
    nothing_written(data_dir)


def test_merged_title_row_is_skipped():
    # A one-cell title above the header (as e-PPGBM and many Pemda sheets have) is not the
    # header: the widest of the first rows is, and lines keep the sheet's row numbers.
    imported = run("stunting", "merged_title_row.xlsx")
    accepted, rejected = imported.lines
    assert imported.result.rows_read > 0
    assert min(accepted + rejected) == 3


def test_broken_xls_is_refused_naming_the_file(data_dir):
    # Real .xls files are read (tests/test_registers_formats.py); this one is only the
    # OLE2 magic bytes and nothing readable.
    assert (BROKEN / "old_excel.xls").read_bytes()[:4] == bytes.fromhex("D0CF11E0")
    message = refused("population", "old_excel.xls")
    assert "old_excel.xls" in message and "not a readable spreadsheet" in message
    nothing_written(data_dir)


def test_missing_file_and_unknown_register():
    with pytest.raises(RegisterImportError, match="no such file"):
        import_register("population", BROKEN / "nope.csv", AS_OF)
    with pytest.raises(RegisterImportError, match="unknown register 'census'"):
        import_register("census", BROKEN / "utf8_bom.csv", AS_OF)


# --- files imported, with their faults on their lines ---------------------------------


def test_truncated_last_line():
    imported = run("population", "truncated_last_line.csv")
    assert imported.lines == ([2, 3, 4, 5], [6])
    reject = imported.reject(6)
    assert reject["reason"] == "ROW_MISSING_COLUMNS"
    assert reject["message"] == "Expected Number of Columns: 6 Found: 4"
    assert reject["original_line"] == ("1502050105720005;WARGA E;LAKI-LAKI;01-05-1972")


def test_truncated_last_line_inside_quotes():
    imported = run("population", "truncated_last_line_quoted.csv")
    assert imported.lines == ([2, 3, 4, 5], [6])
    reject = imported.reject(6)
    assert reject["reason"] == "ROW_UNQUOTED_VALUE"
    assert "unterminated quote" in reject["message"]
    assert reject["original_line"] == '"1502050105720005";"WARGA'


def test_windows_1252_names_come_out_right():
    imported = run("population", "cp1252_names.csv")
    assert imported.result.encoding == "cp1252" and imported.result.delimiter == ";"
    assert imported.lines == ([2, 3, 4], [])
    names = [r["name"] for r in imported.accepted]
    assert names == ["SÖEKARNO", "JOSÉ MARÍA", "FRANÇOIS ŒDIPE"]


def test_blank_nik_keeps_the_resident():
    # A resident without a NIK is still a resident: kept without one (NIK-first pathway).
    imported = run("population", "blank_nik_population.csv")
    assert imported.lines == ([2, 3, 4, 5, 6], [])
    assert imported.result.reasons["NIK_BLANK"] == {"severity": "warning", "rows": 2}


def test_blank_nik_is_only_a_warning_for_a_participant():
    imported = run("membership", "blank_nik_membership.csv")
    assert imported.lines == ([2, 3, 4, 5, 6], [])
    assert imported.result.warnings == 2
    for line in (3, 5):
        row = imported.line(line)
        assert row["nik"] is None and row["warnings"] == ["NIK_BLANK"]
        assert row["noka"] and row["segment"] == "PBI_APBN" and row["status"] == "ACTIVE"
    assert imported.line(2)["warnings"] == [] and imported.line(2)["nik"] == "1502050101600001"
    assert imported.result.reasons["NIK_BLANK"] == {"severity": "warning", "rows": 2}


def test_scientific_nik_is_rejected_never_repaired():
    imported = run("population", "scientific_nik.csv")
    assert imported.lines == ([2, 4], [3])
    reject = imported.reject(3)
    assert (reject["reason"], reject["column"]) == ("NIK_SCIENTIFIC", "nik")
    assert "'1.50201550890001e+15'" in reject["message"]
    assert "digits may have been lost" in reject["message"]
    assert reject["NIK"] == "1.50201550890001e+15"  # the original value, as written


def test_utf8_bom():
    imported = run("population", "utf8_bom.csv")
    assert imported.result.encoding == "utf-8-sig" and imported.result.delimiter == ","
    assert imported.result.columns["nik"] == "NIK"  # not "\ufeffNIK"
    assert all("\ufeff" not in c for c in imported.result.columns.values())
    assert imported.lines == ([2, 3, 4], [])
    assert imported.line(2)["nik"] == "1502050101600001"


def test_a_row_with_a_tenth_value():
    imported = run("population", "too_many_columns.csv")
    assert imported.lines == ([2, 3, 5], [4])
    reject = imported.reject(4)
    assert reject["reason"] == "ROW_TOO_MANY_COLUMNS"
    assert "9" in reject["message"] and "10" in reject["message"]
    text = (BROKEN / "too_many_columns.csv").read_text().splitlines()[3]
    assert text.endswith(";LEBIH") and reject["original_line"] == text
    assert imported.line(5)["address"] == "JL. MERDEKA NO. 1"


def test_blank_lines_keep_the_line_numbers():
    imported = run("population", "blank_lines.csv")
    assert imported.result.rows_read == 4
    assert imported.reject(5)["reason"] == "VILLAGE_UNKNOWN"
    assert imported.lines == ([2, 4, 7], [5])


@pytest.mark.parametrize("mapping", ["custom_headers.toml", "custom_headers.yaml"])
def test_user_mapping_file(mapping):
    imported = run("population", "custom_headers.csv", mapping_file=BROKEN / mapping)
    assert imported.result.columns == {
        "nik": "NOMOR INDUK",
        "kk": "KARTU KELUARGA",
        "name": "NAMA LENGKAP",
        "sex": "KELAMIN",
        "birth_date": "LAHIR",
        "village_code": "DESA",
    }
    assert imported.result.ignored_columns == ["CATATAN"]
    assert imported.lines == ([2, 3, 4], [])
    row = imported.line(3)
    assert (row["nik"], row["sex"], row["birth_date"]) == (
        "1502054802630002",
        "P",
        date(1963, 2, 8),
    )
    assert row["village_code"] == VILLAGE


def test_without_the_mapping_the_custom_headers_are_refused():
    message = refused("population", "custom_headers.csv")
    assert "missing required column" in message and "NOMOR INDUK" in message


def test_a_mapping_to_an_unknown_column_is_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('"NOMOR INDUK" = "nomor"\n')
    with pytest.raises(RegisterImportError, match=r"'NOMOR INDUK' is mapped to 'nomor'"):
        import_register("population", BROKEN / "custom_headers.csv", AS_OF, mapping_file=bad)


def test_unknown_village():
    imported = run("population", "unknown_village.csv")
    assert imported.lines == ([2, 4], [3])
    reject = imported.reject(3)
    assert (reject["reason"], reject["column"]) == ("VILLAGE_UNKNOWN", "village_code")
    assert "15.02.05.9999" in reject["message"] and "KODE_DESA" in reject["message"]


def test_excel_serial_and_day_month_year_dates():
    imported = run("population", "excel_serial_dates.csv")
    assert imported.lines == ([2, 3, 4, 5], [])
    born = [r["birth_date"] for r in imported.accepted]
    assert born == [date(1960, 1, 1), date(1963, 2, 8), date(1966, 3, 15), date(1969, 4, 22)]
    # The dates agree with the NIKs: no birth-date mismatch.
    assert all(r["warnings"] == [] for r in imported.accepted)


def test_excel_serial_dates_in_a_workbook():
    imported = run("stunting", "excel_serial_dates.xlsx")
    assert imported.result.format == "xlsx"
    assert imported.lines == ([2, 3, 4], [])  # sheet row numbers
    born = [r["birth_date"] for r in imported.accepted]
    assert born == [date(2022, 8, 10), date(2021, 1, 31), date(2020, 2, 29)]
    assert all(r["warnings"] == [] for r in imported.accepted)
    assert imported.line(2)["mother_nik"] == "1502054802630002"


def test_leading_apostrophe_and_spaces_in_a_nik_are_repaired():
    imported = run("population", "apostrophe_nik.csv")
    assert imported.lines == ([2, 3, 4], [])
    niks = [r["nik"] for r in imported.accepted]
    assert niks == ["1502050101600001", "1502054802630002", "1502051503660003"]


def test_parquet_input():
    imported = run("population", "population.parquet")
    assert imported.result.format == "parquet"
    assert imported.lines == ([1, 2, 3, 4, 5], [])  # row numbers from 1
    assert imported.result.columns["village_code"] == "NO_PROP+NO_KAB+NO_KEC+NO_KEL"
    row = imported.line(2)
    assert row["nik"] == "1502054802630002" and row["village_code"] == VILLAGE
    assert (row["sex"], row["birth_date"]) == ("P", date(1963, 2, 8))


def test_parquet_float_niks_are_rejected():
    imported = run("population", "population_float_nik.parquet")
    assert imported.lines == ([], [1, 2, 3, 4, 5])
    assert {r["reason"] for r in imported.rejects} == {"NIK_SCIENTIFIC"}
    assert imported.reject(1)["NIK"] == "1502050101600001.0"  # as DuckDB shows the float


def test_a_refused_row_after_a_blank_line_keeps_its_line(tmp_path):
    """The file is read through a copy without its empty lines; a row the CSV reader refuses
    there is still reported at its line in the file the user has."""
    source = (BROKEN / "blank_lines.csv").read_text().splitlines()
    ragged = source[3] + ";EXTRA"  # line 4: one cell too many
    path = tmp_path / "blank_and_ragged.csv"
    path.write_text("\n".join([*source[:3], ragged, *source[4:]]) + "\n")
    imported = run("population", str(path))
    assert imported.lines == ([2, 7], [4, 5])
    assert imported.reject(4)["reason"].startswith("ROW_")

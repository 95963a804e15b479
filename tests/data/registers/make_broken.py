"""Writes the deliberately broken register files in broken/ (kept in the tree; run again only
to change them): `.venv/bin/python tests/data/registers/make_broken.py`.

Each file has one fault, described in broken/README.md and asserted in
tests/test_registers_broken.py.
"""

import csv
import io
from datetime import date
from pathlib import Path

HERE = Path(__file__).parent / "broken"
VILLAGE = "15.02.05.1002"  # Dusun Baru, Merangin
KK = "1502050101100001"


def nik(born: date, sex: str, serial: int, district: str = "15.02.05") -> str:
    from pesiar.regions.nik import build

    return build(district, born, sex, serial)


def people(count: int) -> list[dict[str, str]]:
    """Valid residents of Dusun Baru: NIK, name, sex, birth date, KK, village."""
    out = []
    for i in range(count):
        born = date(1960 + 3 * i, 1 + i % 12, 1 + (7 * i) % 28)
        sex = "L" if i % 2 == 0 else "P"
        out.append(
            {
                "NIK": nik(born, sex, i + 1),
                "NAMA_LGKP": f"WARGA {chr(65 + i)}",
                "JENIS_KLMIN": "LAKI-LAKI" if sex == "L" else "PEREMPUAN",
                "TGL_LHR": born.strftime("%d-%m-%Y"),
                "NO_KK": KK,
                "KODE_DESA": VILLAGE,
            }
        )
    return out


def born_of(record: dict[str, str]) -> date:
    day, month, year = record["TGL_LHR"].split("-")
    return date(int(year), int(month), int(day))


def write_csv(name: str, rows: list[list[str]], delimiter: str = ";", quoting=csv.QUOTE_MINIMAL):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator="\n").writerows(rows)
    (HERE / name).write_bytes(buffer.getvalue().encode("utf-8"))


def table(records: list[dict[str, str]]) -> list[list[str]]:
    return [list(records[0]), *([*r.values()] for r in records)]


def main() -> None:
    HERE.mkdir(exist_ok=True)
    base = people(5)

    # A truncated last line, inside a quoted value (as a cut-off quoted export ends)...
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(
        table(base)
    )
    text = buffer.getvalue().rstrip("\n")
    cut = text.rindex('"WARGA E') + len('"WARGA')
    (HERE / "truncated_last_line_quoted.csv").write_bytes(text[:cut].encode())
    # ...and after a separator, without quotes and without a final line break.
    rows = table(base)
    text = "\n".join(";".join(r) for r in rows)
    (HERE / "truncated_last_line.csv").write_bytes(text[: text.rindex(";" + KK)].encode())

    # The right columns, separated by |.
    write_csv("pipe_delimiter.csv", table(base), delimiter="|")

    # Windows-1252 names.
    records = [dict(r) for r in base[:3]]
    records[0]["NAMA_LGKP"] = "SÖEKARNO"
    records[1]["NAMA_LGKP"] = "JOSÉ MARÍA"
    records[2]["NAMA_LGKP"] = "FRANÇOIS ŒDIPE"  # Œ is 0x8C in cp1252, not Latin-1
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(table(records))
    (HERE / "cp1252_names.csv").write_bytes(buffer.getvalue().encode("cp1252"))

    # Blank NIKs: line 3 and line 5.
    records = [dict(r) for r in base]
    records[1]["NIK"] = ""
    records[3]["NIK"] = "   "
    write_csv("blank_nik_population.csv", table(records))
    members = [
        {
            "NOKA": f"000123456789{i}",
            "NIK": "" if i in (1, 3) else r["NIK"],
            "NAMA": r["NAMA_LGKP"],
            "JENIS_KELAMIN": "L" if r["JENIS_KLMIN"] == "LAKI-LAKI" else "P",
            "TGL_LAHIR": r["TGL_LHR"].replace("-", "/"),
            "SEGMEN": "PBI APBN",
            "KELAS": "3",
            "STATUS_PESERTA": "AKTIF",
            "KODE_DESA": VILLAGE.replace(".", ""),
        }
        for i, r in enumerate(base)
    ]
    write_csv("blank_nik_membership.csv", table(members), delimiter=",")

    # A NIK that went through a float (line 3), as Excel writes it.
    records = [dict(r) for r in base[:3]]
    records[1]["NIK"] = "1.50201550890001e+15"
    write_csv("scientific_nik.csv", table(records))

    # A UTF-8 byte-order mark before the header.
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=",", lineterminator="\r\n").writerows(table(base[:3]))
    (HERE / "utf8_bom.csv").write_bytes(buffer.getvalue().encode("utf-8-sig"))

    (HERE / "empty.csv").write_bytes(b"")
    (HERE / "header_only.csv").write_bytes((";".join(base[0]) + "\r\n").encode())

    # Nine columns; line 4 has a tenth value.
    records = [
        {**r, "ALAMAT": "JL. MERDEKA NO. 1", "NO_RT": "001", "NO_RW": "002"} for r in base[:4]
    ]
    rows = table(records)
    rows[3] = [*rows[3], "LEBIH"]
    write_csv("too_many_columns.csv", rows)

    # No birth-date column (TGL_LHR) and the village under an unknown name.
    rows = [[v for k, v in zip(base[0], r, strict=True) if k != "TGL_LHR"] for r in table(base)]
    rows[0][-1] = "DESA"
    write_csv("missing_column.csv", rows)

    # Agency column names that need a mapping file (TOML and YAML beside it).
    rows = table(base[:3])
    rows[0] = ["NOMOR INDUK", "NAMA LENGKAP", "KELAMIN", "LAHIR", "KARTU KELUARGA", "DESA"]
    rows = [[*r, "catatan"] for r in rows]
    rows[0][-1] = "CATATAN"
    write_csv("custom_headers.csv", rows)
    mapping = {
        "NOMOR INDUK": "nik",
        "NAMA LENGKAP": "name",
        "KELAMIN": "sex",
        "LAHIR": "birth_date",
        "KARTU KELUARGA": "kk",
        "DESA": "village_code",
    }
    (HERE / "custom_headers.toml").write_text(
        "# source column = Pesiar column\n[columns]\n"
        + "".join(f'"{k}" = "{v}"\n' for k, v in mapping.items())
    )
    (HERE / "custom_headers.yaml").write_text(
        "# source column: Pesiar column\n" + "".join(f"{k}: {v}\n" for k, v in mapping.items())
    )

    # Village 15.02.05.9999 does not exist (line 3).
    records = [dict(r) for r in base[:3]]
    records[1]["KODE_DESA"] = "15.02.05.9999"
    write_csv("unknown_village.csv", table(records))

    # Birth dates as Excel serial day numbers and as DD/MM/YYYY.
    records = [dict(r) for r in base[:4]]
    for i, r in enumerate(records):
        born = born_of(r)
        serial = str((born - date(1899, 12, 30)).days)
        r["TGL_LHR"] = serial if i % 2 == 0 else born.strftime("%d/%m/%Y")
    records[2]["TGL_LHR"] += ".0"  # as a float cell exports
    write_csv("excel_serial_dates.csv", table(records))

    # NIKs with Excel's leading apostrophe (text marker), and one with spaces.
    records = [dict(r) for r in base[:3]]
    records[0]["NIK"] = "'" + records[0]["NIK"]
    records[1]["NIK"] = "'" + records[1]["NIK"]
    records[2]["NIK"] = " ".join(records[2]["NIK"][i : i + 4] for i in range(0, 16, 4))
    write_csv("apostrophe_nik.csv", table(records))

    # Blank lines between records (lines 3 and 6); line 5 has an unknown village.
    rows = table(base[:4])
    rows[3][5] = "15.02.05.9999"
    text = "\n".join(";".join(r) for r in rows) + "\n"
    lines = text.split("\n")
    lines.insert(2, "")
    lines.insert(5, "")
    (HERE / "blank_lines.csv").write_bytes("\n".join(lines).encode())

    # An Excel 97-2003 file: OLE2 compound-document magic bytes.
    (HERE / "old_excel.xls").write_bytes(
        bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504) + b"Workbook" + bytes(512)
    )

    write_xlsx_files(base)
    write_parquet(base)


def write_xlsx_files(base: list[dict[str, str]]) -> None:
    from openpyxl import Workbook

    header = ["child_nik", "child_name", "birth_date", "sex", "mother_nik", "kk", "village_code"]
    child = nik(date(2022, 8, 10), "P", 7)
    row = [child, "BALITA A", date(2022, 8, 10), "P", base[1]["NIK"], KK, VILLAGE]

    # "NAMA ANAK" spread over B1:C1 (a merged header cell).
    wb = Workbook()
    ws = wb.active
    ws.title = "balita"
    ws.append(["child_nik", "NAMA ANAK", None, *header[2:]])
    ws.append([child, "BALITA", "A", *row[2:]])
    ws.merge_cells("B1:C1")
    save(wb, "merged_header.xlsx")

    # A title row merged over the table, above the real header.
    wb = Workbook()
    ws = wb.active
    ws.append(["DATA BALITA DUSUN BARU 2024", *[None] * 6])
    ws.merge_cells("A1:G1")
    ws.append(header)
    ws.append(row)
    save(wb, "merged_title_row.xlsx")

    # Birth dates as plain numbers (Excel serials) and as DD/MM/YYYY text; rows 2-4.
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    ws.append([*row[:2], 44783, *row[3:]])  # 2022-08-10
    ws.append([nik(date(2021, 1, 31), "L", 8), "BALITA B", "31/01/2021", "L", "", KK, VILLAGE])
    ws.append([nik(date(2020, 2, 29), "P", 9), "BALITA C", 43890.0, "P", "", KK, VILLAGE])
    save(wb, "excel_serial_dates.xlsx")


def save(wb, name: str) -> None:
    from openpyxl.packaging.core import DocumentProperties

    wb.properties = DocumentProperties(creator="pesiar tests")
    wb.save(HERE / name)


def write_parquet(base: list[dict[str, str]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    born = [born_of(r) for r in base]
    columns = {
        "NIK": pa.array([int(r["NIK"]) for r in base], pa.int64()),  # whole numbers: exact
        "NAMA_LGKP": pa.array([r["NAMA_LGKP"] for r in base]),
        "JENIS_KLMIN": pa.array([r["JENIS_KLMIN"] for r in base]),
        "TGL_LHR": pa.array(born, pa.date32()),
        "NO_KK": pa.array([r["NO_KK"] for r in base]),
        "NO_PROP": pa.array([15] * len(base), pa.int32()),
        "NO_KAB": pa.array([2] * len(base), pa.int32()),
        "NO_KEC": pa.array([5] * len(base), pa.int32()),
        "NO_KEL": pa.array([1002] * len(base), pa.int32()),
    }
    pq.write_table(pa.table(columns), HERE / "population.parquet")
    # The same with the NIK as a float column: digits may have been lost.
    columns["NIK"] = pa.array([float(r["NIK"]) for r in base], pa.float64())
    pq.write_table(pa.table(columns), HERE / "population_float_nik.parquet")


if __name__ == "__main__":
    main()

"""Writes the register files in formats/ as the systems that produce them lay them out (kept
in the tree; run again only to change them):
`.venv/bin/python tests/data/registers/formats/make_formats.py`.

Headers and codes come from the public sources named in docs/registers.md (OpenSID's
assets/import/FormatImporExcel.xlsm and format_siak.xls, Impor_model.php; the SIAK
BIODATA_WNI columns; SIKS-NG, P3KE and e-PPGBM exports; BPJS VClaim/PCare peserta). The
people are invented, all in Dusun Baru (15.02.05.1002), Tabir, Kabupaten Merangin, Jambi,
except the Merauke file. Asserted in tests/test_registers_formats.py.
"""

import csv
import io
import json
from datetime import date
from pathlib import Path

HERE = Path(__file__).parent
VILLAGE = "15.02.05.1002"
NAMES = ("JAMBI", "KABUPATEN MERANGIN", "TABIR", "DUSUN BARU")


def nik(born: date, sex: str, serial: int, district: str = "15.02.05") -> str:
    from pesiar.regions.nik import build

    return build(district, born, sex, serial)


KK1, KK2 = "1502050101100001", "1502050202150002"
# (name, sex, born, kk, relation code 1-11, status_dasar 1 HIDUP / 2 MATI / 3 PINDAH)
PEOPLE = [
    ("AHMAD SUBARJO", "L", date(1970, 5, 20), KK1, 1, 1),
    ("SITI AMINAH", "P", date(1975, 3, 10), KK1, 3, 1),
    ("RUDI HARTONO", "L", date(1999, 1, 3), KK1, 4, 1),
    ("DEWI LESTARI", "P", date(2004, 7, 15), KK1, 4, 3),
    ("MARYAM", "P", date(1940, 12, 1), KK1, 7, 2),
    ("JOKO SUSILO", "L", date(1985, 9, 9), KK2, 1, 1),
    ("RINA MARLINA", "P", date(1988, 2, 28), KK2, 3, 1),
    ("PUTRI AYU", "P", date(2023, 11, 2), KK2, 4, 1),  # a baby without a NIK yet
]
NIKS = [
    "0" if name == "PUTRI AYU" else nik(born, sex, 10 + i)
    for i, (name, sex, born, _kk, _rel, _st) in enumerate(PEOPLE)
]
SITI = 1  # the person found in the population, DTKS and VClaim files alike

# OpenSID assets/import/FormatImporExcel.xlsm, sheet "Data Penduduk", row 1.
OPENSID_HEADER = (  # noqa: SIM905
    "alamat dusun rw rt nama no_kk nik sex tempatlahir tanggallahir agama_id pendidikan_kk_id "
    "pendidikan_sedang_id pekerjaan_id status_kawin kk_level warganegara_id ayah_nik nama_ayah "
    "ibu_nik nama_ibu golongan_darah_id akta_lahir dokumen_pasport tanggal_akhir_paspor "
    "dokumen_kitas akta_perkawinan tanggalperkawinan akta_perceraian tanggalperceraian "
    "cacat_id cara_kb_id hamil ktp_el status_rekam alamat_sekarang status_dasar suku "
    "tag_id_card id_asuransi no_asuransi lat lng"
).split()
# OpenSID accepts sex as 1/2 or L/P/LK/Pr (Impor_model.php): all four spellings appear.
SEX_SPELLINGS = {"L": ("1", "L", "LK", "1"), "P": ("2", "P", "Pr", "2")}
KODE_DATA = [
    ("sex", "id", "kk_level", "", "status_dasar", "id"),
    ("LAKI-LAKI", 1, "KEPALA KELUARGA", 1, "HIDUP", 1),
    ("PEREMPUAN", 2, "SUAMI", 2, "MATI", 2),
    ("", "", "ISTRI", 3, "PINDAH", 3),
]


def opensid_rows(text_only: bool) -> list[list]:
    rows = []
    for i, (name, sex, born, kk, rel, status) in enumerate(PEOPLE):
        values = dict.fromkeys(OPENSID_HEADER, "")
        values.update(
            alamat="Jl. Lintas Sumatera",
            dusun="Dusun Satu",
            rw="002",
            rt="001",
            nama=name,
            no_kk=kk,
            nik=NIKS[i],
            sex=SEX_SPELLINGS[sex][i % 4],
            tempatlahir="Merangin",
            tanggallahir=born.isoformat() if text_only else born,
            agama_id="1",
            kk_level=str(rel) if text_only else rel,
            warganegara_id="1",
            status_dasar=str(status) if text_only else status,
        )
        rows.append([values[h] for h in OPENSID_HEADER])
    return rows


def write_opensid_template() -> None:
    """The import template: codes as numbers, the `###` row, the `Kode Data` sheet."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Data Penduduk"
    ws.append(OPENSID_HEADER)
    for row in opensid_rows(text_only=False):
        ws.append(row)
    ws.append([])
    ws.append(["", "###", "Isi data penduduk di baris-baris di atas bagian hijau ini."])
    ws.append(["", "", "Setiap baris di atas berisi formula yang mendukung penampilan kode."])
    codes = wb.create_sheet("Kode Data")
    for row in KODE_DATA:
        codes.append(row)
    wb.save(HERE / "opensid_template.xlsm")


def write_opensid_export() -> None:
    """OpenSID's resident export: the template's columns, every cell text, ISO dates."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(OPENSID_HEADER)
    for row in opensid_rows(text_only=True):
        ws.append(row)
    wb.save(HERE / "opensid_export.xlsx")


# OpenSID assets/import/format_siak.xls, Sheet1, row 1.
SIAK_HEADER = [
    "Nomor KK", "NIK", "Nama Penduduk", "Status", "Tempat Lahir", "Tanggal Lahir", "Kelamin",
    "NIK Ayah", "Ayah", "NIK Ibu", "Ibu", "Status Kawin", "SHDK", "Agama", "Kecamatan",
    "Desa/Kel", "Alamat", "RW", "RT", "Pendidikan", "Pekerjaan", "Deskripsi Pekerjaan",
    "Gol. Darah", "Cacat", "Cetak KTP", "Ganti KTP", "KTP Berakhir", "Nomor Paspor",
    "Nomor Akta Lahir", "Nomor Akta Kawin", "Tanggal Kwn", "Nomor Akta Cerai", "Tgl Cerai",
    "Petugas Registrasi", "Tgl Ubah", "Petugas Entri", "Tgl Entri",
]  # fmt: skip
SIAK_STATUS = {1: "Hidup", 2: "Mati", 3: "Pindah Dalam Negeri"}
SIAK_SHDK = {1: "Kepala Keluarga", 3: "Istri", 4: "Anak", 7: "Orang Tua"}


def write_opensid_siak() -> None:
    """Excel 97-2003, word values, dates as Excel serial numbers, RT/RW as numbers and
    empty rows at the end, as format_siak.xls has."""
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("Sheet1", cell_overwrite_ok=True)
    for c, name in enumerate(SIAK_HEADER):
        ws.write(0, c, name)
    dated = xlwt.easyxf(num_format_str="DD-MM-YYYY")
    for r, (name, sex, born, kk, rel, status) in enumerate(PEOPLE, start=1):
        if NIKS[r - 1] == "0":
            continue  # SIAK holds only people with a NIK
        values = dict.fromkeys(SIAK_HEADER, "")
        values.update(
            {
                "Nomor KK": kk,
                "NIK": NIKS[r - 1],
                "Nama Penduduk": name,
                "Status": SIAK_STATUS[status],
                "Tempat Lahir": "MERANGIN",
                "Kelamin": "Laki-Laki" if sex == "L" else "Perempuan",
                "SHDK": SIAK_SHDK[rel],
                "Agama": "Islam",
                "Kecamatan": "TABIR",
                "Desa/Kel": "DUSUN BARU",
                "Alamat": "DSN SATU",
                "Gol. Darah": "Tdk Th",
            }
        )
        for c, header in enumerate(SIAK_HEADER):
            ws.write(r, c, values[header])
        serial = (born - date(1899, 12, 30)).days
        column = SIAK_HEADER.index("Tanggal Lahir")
        if r % 2:
            ws.write(r, column, born, dated)  # a date cell
        else:
            ws.write(r, column, float(serial))  # the bare serial number
        ws.write(r, SIAK_HEADER.index("RW"), 2.0)
        ws.write(r, SIAK_HEADER.index("RT"), 1.0)
    for r in range(len(PEOPLE) + 1, len(PEOPLE) + 4):
        ws.write(r, 0, "")  # empty trailing rows
    wb.save(str(HERE / "opensid_siak.xls"))


# SIAK BIODATA_WNI / DATA_KELUARGA columns of a DKB extract.
DKB_HEADER = [
    "NIK", "NO_KK", "NAMA_LGKP", "JENIS_KLMIN", "TMPT_LHR", "TGL_LHR", "STAT_HBKEL", "AGAMA",
    "STAT_KWN", "NO_PROP", "NO_KAB", "NO_KEC", "NO_KEL", "NO_RT", "NO_RW", "ALAMAT",
    "NAMA_LGKP_IBU", "TGL_MATI",
]  # fmt: skip


def write_siak_dkb() -> None:
    """Codes (JENIS_KLMIN 1/2, STAT_HBKEL 1-11) on some rows, words on others; the region as
    four unpadded numbers; a death date for the one who died."""
    rows = [DKB_HEADER]
    for i, (name, sex, born, kk, rel, status) in enumerate(PEOPLE):
        if NIKS[i] == "0":
            continue
        coded = i % 2 == 0
        rows.append(
            [
                NIKS[i], kk, name,
                ("1" if sex == "L" else "2") if coded else ("LAKI-LAKI" if sex == "L" else
                                                            "PEREMPUAN"),
                "MERANGIN", born.strftime("%d-%m-%Y"),
                str(rel) if coded else SIAK_SHDK[rel].upper(),
                "1", "2", "15", "2", "5", "1002", "1", "2", "DUSUN SATU", "", (
                    "15-03-2024" if status == 2 else ""
                ),
            ]
        )  # fmt: skip
    write_csv("siak_dkb.csv", rows, delimiter=",")


DTKS_HEADER = [
    "ID DTKS", "PROVINSI", "KABUPATEN", "KECAMATAN", "KELURAHAN", "ALAMAT", "NOKK", "NIK",
    "NAMA", "JENIS KELAMIN", "TANGGAL LAHIR", "HUBUNGAN KELUARGA", "KETERANGAN",
]  # fmt: skip


def write_dtks() -> None:
    """SIKS-NG export: `|`-delimited, every field quoted, the region as names, PRIA/WANITA,
    no decile. One row names a village that does not exist."""
    rows = [DTKS_HEADER]
    for n, i in enumerate((0, 1, 2)):
        name, sex, born, kk, rel, _st = PEOPLE[i]
        rows.append(
            [
                f"DTKS-1502{n:06d}", "JAMBI", "MERANGIN", "TABIR", "DUSUN BARU",
                "DUSUN SATU RT 001", kk, NIKS[i], name, "PRIA" if sex == "L" else "WANITA",
                born.strftime("%d/%m/%Y"), SIAK_SHDK[rel].upper(), "",
            ]
        )  # fmt: skip
    name, sex, born, kk, rel, _st = PEOPLE[5]
    rows.append(
        [
            "DTKS-1502000009", "JAMBI", "MERANGIN", "TABIR", "DUSUN ANTAH",
            "", KK2, NIKS[5], name, "PRIA", born.strftime("%d/%m/%Y"), "KEPALA KELUARGA", "",
        ]
    )  # fmt: skip
    write_csv("dtks.csv", rows, delimiter="|", quoting=csv.QUOTE_ALL)


P3KE_HEADER = [
    "ID Keluarga P3KE", "Provinsi", "Kabupaten/Kota", "Kecamatan", "Desa/Kelurahan",
    "Kode Kemdagri", "No KK", "NIK", "Nama", "Jenis Kelamin", "Tanggal Lahir",
    "Desil Kesejahteraan", "Penerima BPNT", "Penerima PKH", "Penerima BLT Dana Desa",
    "Penerima PBI JK",
]  # fmt: skip


def write_p3ke() -> None:
    """Kode Kemdagri as 10 digits, Desil Kesejahteraan 1-4, Ya/Tidak flags."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(P3KE_HEADER)
    for n, i in enumerate((0, 1, 5, 6)):
        name, sex, born, kk, _rel, _st = PEOPLE[i]
        ws.append(
            [
                f"P3KE{n:08d}", "JAMBI", "KAB. MERANGIN", "TABIR", "DUSUN BARU",
                VILLAGE.replace(".", ""), kk, NIKS[i], name,
                "Laki-laki" if sex == "L" else "Perempuan", born.isoformat(),
                str(1 + n), "Ya" if n % 2 else "Tidak", "Tidak", "Ya", "Tidak",
            ]
        )  # fmt: skip
    wb.save(HERE / "p3ke.xlsx")


EPPGBM_HEADER = [
    "No", "NIK", "Nama Anak", "JK", "Tgl Lahir", "BB Lahir", "TB Lahir", "Nama Ortu",
    "NIK Ortu", "Prov", "Kab/Kota", "Kec", "Puskesmas", "Desa/Kel", "Posyandu", "RT", "RW",
    "Alamat", "Usia Saat Ukur", "Tanggal Pengukuran", "Berat", "Tinggi", "Cara Ukur", "LiLA",
    "BB/U", "ZS BB/U", "TB/U", "ZS TB/U", "BB/TB", "ZS BB/TB",
]  # fmt: skip


def write_eppgbm() -> None:
    """A title row above the header, `;`, comma decimals, age as text; two children measured
    twice (the latest counts: one is stunted now, the other no longer)."""
    children = [
        # (nik, name, sex, born, [(measured, height, z)])
        (nik(date(2022, 4, 5), "L", 91), "BAYU PRATAMA", "L", date(2022, 4, 5),
         [(date(2024, 2, 10), "80,1", "-1,52"), (date(2024, 5, 12), "82,0", "-2,31")]),
        (nik(date(2021, 8, 20), "P", 92), "NADIA PUTRI", "P", date(2021, 8, 20),
         [(date(2024, 2, 10), "84,0", "-2,10"), (date(2024, 5, 12), "88,5", "-1,80")]),
        ("", "PUTRI AYU", "P", date(2023, 11, 2), [(date(2024, 5, 12), "60,2", "-2,95")]),
    ]  # fmt: skip
    rows = [["Data Pengukuran Balita - Puskesmas Tabir - Mei 2024"], EPPGBM_HEADER]
    number = 0
    for child_nik, name, sex, born, measures in children:
        for measured, height, z in measures:
            number += 1
            months = (measured.year - born.year) * 12 + measured.month - born.month
            age = f"{months // 12} Tahun - {months % 12} Bulan - 0 Hari"
            stunted = z.startswith("-2") or z.startswith("-3")
            rows.append(
                [
                    str(number), child_nik, name, sex, born.strftime("%d/%m/%Y"), "3,1", "49,0",
                    "SITI AMINAH", NIKS[SITI], "JAMBI", "MERANGIN", "TABIR", "TABIR",
                    "DUSUN BARU", "MELATI", "001", "002", "DUSUN SATU", age,
                    measured.strftime("%d/%m/%Y"), "10,2", height, "Berdiri", "14,0",
                    "Normal", "-0,85", "Pendek" if stunted else "Normal", z, "Gizi Baik",
                    "-0,12",
                ]
            )  # fmt: skip
    write_csv("eppgbm.csv", rows, delimiter=";")


EXTRACT_HEADER = [
    "NOKA", "NIK", "NAMA PESERTA", "JENIS KELAMIN", "TGL LAHIR", "NO KK", "JENIS PESERTA",
    "KELAS RAWAT", "STATUS PESERTA", "KETERANGAN STATUS", "BULAN TUNGGAKAN", "TOTAL TUNGGAKAN",
    "KODE FASKES", "NAMA FASKES", "KODE DESA",
]  # fmt: skip


def write_bpjs_extract() -> None:
    rows = [EXTRACT_HEADER]
    plan = [
        (0, "PBI (APBN)", "III", "AKTIF", "", "0", "0"),
        (2, "PEKERJA MANDIRI", "II", "TIDAK AKTIF", "TUNGGAKAN IURAN", "4", "Rp 420.000"),
        (5, "PNS DAERAH", "I", "AKTIF", "", "0", "0"),
        (6, "PBPU PEMDA", "III", "AKTIF", "", "0", "0"),
    ]
    for n, (i, segment, klass, status, reason, months, amount) in enumerate(plan):
        name, sex, born, kk, _rel, _st = PEOPLE[i]
        rows.append(
            [
                f"000{1234567890 + n}", NIKS[i], name, sex, born.strftime("%d-%m-%Y"), kk,
                segment, klass, status, reason, months, amount, "10020301", "PKM TABIR",
                VILLAGE.replace(".", ""),
            ]
        )  # fmt: skip
    write_csv("bpjs_extract.csv", rows, delimiter=";")


def vclaim(i: int, noka: str, status: tuple[str, str], segment: str, klass: str) -> dict:
    name, sex, born, _kk, _rel, _st = PEOPLE[i]
    return {
        "metaData": {"code": "200", "message": "OK"},
        "response": {
            "peserta": {
                "noKartu": noka,
                "nik": NIKS[i],
                "nama": name,
                "pisa": "1",
                "sex": sex,
                "mr": {"noMR": None, "noTelepon": None},
                "tglLahir": born.isoformat(),
                "tglCetakKartu": "2019-01-10",
                "tglTAT": "2099-12-31",
                "tglTMT": "2019-01-01",
                "statusPeserta": {"kode": status[0], "keterangan": status[1]},
                "provUmum": {"kdProvider": "10020301", "nmProvider": "PKM TABIR"},
                "jenisPeserta": {"kode": "1", "keterangan": segment},
                "hakKelas": {"kode": klass, "keterangan": f"KELAS {'I' * int(klass)}"},
                "umur": {"umurSekarang": "49 tahun", "umurSaatPelayanan": "49 tahun"},
                "informasi": {"dinsos": None, "prolanisPRB": None, "noSKTM": None},
                "cob": {"noAsuransi": None, "nmAsuransi": None},
            }
        },
    }


def write_vclaim() -> None:
    """VClaim `Peserta` responses, one per line (JSON lines)."""
    lines = [
        vclaim(SITI, "0001234567801", ("0", "AKTIF"), "PBI (APBN)", "3"),
        vclaim(0, "0001234567802", ("0", "AKTIF"), "PBI (APBN)", "3"),
        vclaim(2, "0001234567803", ("9", "TUNGGAKAN"), "PEKERJA MANDIRI", "2"),
        vclaim(4, "0001234567804", ("1", "MENINGGAL"), "BUKAN PEKERJA", "1"),
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n"
    (HERE / "vclaim.jsonl").write_text(text, encoding="utf-8")


def write_pcare() -> None:
    """A PCare peserta list response: aktif/ketAktif, tunggakan in rupiah."""
    people = []
    for n, (i, active, arrears) in enumerate(((5, True, 0), (6, False, 255000))):
        name, sex, born, _kk, _rel, _st = PEOPLE[i]
        people.append(
            {
                "noKartu": f"000222333444{n}",
                "nama": name,
                "hubunganKeluarga": "Peserta",
                "sex": sex,
                "tglLahir": born.strftime("%d-%m-%Y"),
                "tglMulaiAktif": "01-01-2020",
                "tglAkhirBerlaku": "01-01-2099",
                "kdProviderPst": {"kdProvider": "10020301", "nmProvider": "PKM TABIR"},
                "kdProviderGigi": {"kdProvider": None, "nmProvider": None},
                "jnsKelas": {"nama": "KELAS III", "kode": "3"},
                "jnsPeserta": {"nama": "PEKERJA MANDIRI", "kode": "PM"},
                "golDarah": "0",
                "noHP": "",
                "noKTP": NIKS[i],
                "pstProl": "",
                "pstPrb": "",
                "aktif": active,
                "ketAktif": "AKTIF" if active else "TIDAK AKTIF",
                "asuransi": {"kdAsuransi": None, "nmAsuransi": None, "noAsuransi": None},
                "tunggakan": arrears,
            }
        )
    body = {
        "response": {"count": len(people), "list": people},
        "metaData": {"message": "OK", "code": 200},
    }
    (HERE / "pcare.json").write_text(json.dumps(body, indent=2), encoding="utf-8")


def write_merauke() -> None:
    """Residents of Merauke: NIKs issued before 2022 (regency 91.01, Papua) and after
    (93.01, Papua Selatan), in one village of today's 93.01.01."""
    rows = [["NIK", "NO_KK", "NAMA_LGKP", "JENIS_KLMIN", "TGL_LHR", "KODE_DESA"]]
    for i in range(300):
        district = "91.01.01" if i % 2 == 0 else "93.01.01"
        sex = "L" if i % 3 else "P"
        born = date(1950 + i % 60, 1 + i % 12, 1 + i % 28)
        kk = f"{district.replace('.', '')}0101{10 + i % 80:02d}{1 + i // 80:04d}"
        rows.append([nik(born, sex, 1 + i, district), kk, f"WARGA {i}", sex,
                     born.isoformat(), "93.01.01.1002"])  # fmt: skip
    write_csv("merauke.csv", rows, delimiter=",")


def write_csv(name: str, rows: list[list[str]], delimiter: str, quoting=csv.QUOTE_MINIMAL):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator="\n").writerows(rows)
    (HERE / name).write_text(buffer.getvalue(), encoding="utf-8")


def main() -> None:
    write_opensid_template()
    write_opensid_export()
    write_opensid_siak()
    write_siak_dkb()
    write_dtks()
    write_p3ke()
    write_eppgbm()
    write_bpjs_extract()
    write_vclaim()
    write_pcare()
    write_merauke()


if __name__ == "__main__":
    main()

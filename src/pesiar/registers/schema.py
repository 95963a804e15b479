"""The seven registers: canonical columns, the source names accepted for them, and how a
bad value is treated (the row rejected, or accepted with a warning).

Header matching ignores case, spaces, dots, dashes and underscores (see `header_key`).
"""

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    POPULATION = "population"
    MEMBERSHIP = "membership"
    WELFARE = "welfare"
    STUNTING = "stunting"
    PREGNANCY = "pregnancy"
    LAYOFFS = "layoffs"
    WORKERS = "workers"


class Type(StrEnum):
    NIK = "nik"
    KK = "kk"
    NOKA = "noka"
    TEXT = "text"
    CODE = "code"  # identifiers kept as text, trimmed and upper-cased (employer, faskes)
    SEX = "sex"
    DATE = "date"
    VILLAGE = "village"
    SEGMENT = "segment"
    STATUS = "status"
    CLASS = "class"
    REASON = "reason"
    INTEGER = "integer"
    MONEY = "money"
    DECILE = "decile"
    DECIMAL = "decimal"  # 1.5 or 1,5
    FLAG = "flag"  # Ya/Tidak
    LIFE = "life"  # alive, deceased, moved away...


# What a bad value does to its row.
REJECT = "reject"  # the row is rejected
WARN = "warn"  # the row is accepted, the value set empty, a warning recorded
# A blank value is acceptable in a column marked optional_value.


@dataclass(frozen=True)
class Column:
    name: str
    type: Type
    aliases: tuple[str, ...] = ()
    required: bool = True  # the column must be in the file
    on_bad: str = REJECT
    blank_ok: bool = False  # an empty value is not a problem
    # Problem codes that only warn for this column, whatever on_bad says.
    warn_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Register:
    kind: Kind
    columns: tuple[Column, ...]
    # Key columns: two accepted rows sharing one of these values are a finding.
    shared_keys: tuple[str, ...] = ()

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


VILLAGE_PARTS = ("no_prop", "no_kab", "no_kec", "no_kel")

REGISTERS: dict[Kind, Register] = {
    Kind.POPULATION: Register(
        Kind.POPULATION,
        (
            # A resident without a NIK (or with one a spreadsheet damaged) is still a resident:
            # kept without a NIK, counted, and sent to the NIK-first pathway.
            Column("nik", Type.NIK, ("NIK",), warn_codes=("NIK_BLANK", "NIK_EXCEL_PRECISION")),
            Column("kk", Type.KK, ("NO_KK", "NOKK"), on_bad=WARN),
            Column("name", Type.TEXT, ("NAMA_LGKP", "NAMA")),
            Column("sex", Type.SEX, ("JENIS_KLMIN", "JENIS_KELAMIN"), on_bad=WARN),
            Column("birth_date", Type.DATE, ("TGL_LHR", "TANGGAL_LAHIR"), on_bad=WARN),
            Column("birth_place", Type.TEXT, ("TMPT_LHR",), required=False, blank_ok=True),
            Column("village_code", Type.VILLAGE, ("KODE_DESA", "KODE_WILAYAH")),
            Column("address", Type.TEXT, ("ALAMAT",), required=False, blank_ok=True),
            Column("rt", Type.TEXT, ("NO_RT",), required=False, blank_ok=True),
            Column("rw", Type.TEXT, ("NO_RW",), required=False, blank_ok=True),
            Column(
                "family_relation", Type.TEXT, ("STAT_HBKEL", "SHDK"), required=False, blank_ok=True
            ),
            Column(
                "death_date", Type.DATE, ("TGL_MATI",), required=False, on_bad=WARN, blank_ok=True
            ),
            Column(
                "life_status",
                Type.LIFE,
                ("STATUS_DASAR",),
                required=False,
                on_bad=WARN,
                blank_ok=True,
            ),
        ),
        shared_keys=("nik",),
    ),
    Kind.MEMBERSHIP: Register(
        Kind.MEMBERSHIP,
        (
            Column("noka", Type.NOKA, ("NOKA", "NO_KARTU")),
            Column("nik", Type.NIK, ("NIK", "NO_KTP"), on_bad=WARN),
            Column("name", Type.TEXT, ("NAMA",)),
            Column("sex", Type.SEX, ("JENIS_KELAMIN",), on_bad=WARN),
            Column("birth_date", Type.DATE, ("TGL_LAHIR",), on_bad=WARN),
            Column("kk", Type.KK, ("NO_KK",), required=False, on_bad=WARN, blank_ok=True),
            Column("segment", Type.SEGMENT, ("SEGMEN", "JENIS_PESERTA"), on_bad=WARN),
            Column("class", Type.CLASS, ("KELAS", "HAK_KELAS"), on_bad=WARN, blank_ok=True),
            Column("status", Type.STATUS, ("STATUS", "STATUS_PESERTA")),
            Column(
                "inactive_reason",
                Type.REASON,
                ("KETERANGAN_NONAKTIF",),
                required=False,
                on_bad=WARN,
                blank_ok=True,
            ),
            Column(
                "arrears_months",
                Type.INTEGER,
                ("BULAN_TUNGGAK",),
                required=False,
                on_bad=WARN,
                blank_ok=True,
            ),
            Column(
                "arrears_amount",
                Type.MONEY,
                ("JML_TUNGGAKAN",),
                required=False,
                on_bad=WARN,
                blank_ok=True,
            ),
            Column(
                "employer_code", Type.CODE, ("KODE_BADAN_USAHA",), required=False, blank_ok=True
            ),
            Column(
                "faskes_code", Type.CODE, ("KODE_FASKES", "KD_PPK"), required=False, blank_ok=True
            ),
            Column(
                "village_code",
                Type.VILLAGE,
                ("KODE_DESA",),
                required=False,
                on_bad=WARN,
                blank_ok=True,
            ),
        ),
        shared_keys=("noka", "nik"),
    ),
    Kind.WELFARE: Register(
        Kind.WELFARE,
        (
            Column("nik", Type.NIK),
            Column("kk", Type.KK, ("NO_KK",), on_bad=WARN),
            Column("decile", Type.DECILE, ("DESIL",)),
            Column("village_code", Type.VILLAGE, ("KODE_DESA",), on_bad=WARN),
        ),
        shared_keys=("nik",),
    ),
    Kind.STUNTING: Register(
        Kind.STUNTING,
        (
            Column("child_nik", Type.NIK, ("NIK_ANAK",), on_bad=WARN, blank_ok=True),
            Column("child_name", Type.TEXT, ("NAMA_ANAK",)),
            Column("birth_date", Type.DATE, ("TGL_LAHIR",)),
            Column("sex", Type.SEX, ("JENIS_KELAMIN",), on_bad=WARN),
            Column(
                "mother_nik", Type.NIK, ("NIK_IBU",), required=False, on_bad=WARN, blank_ok=True
            ),
            Column("kk", Type.KK, ("NO_KK",), required=False, on_bad=WARN, blank_ok=True),
            Column("village_code", Type.VILLAGE, ("KODE_DESA",)),
            Column(
                "measured_on",
                Type.DATE,
                ("TANGGAL_PENGUKURAN",),
                required=False,
                on_bad=WARN,
                blank_ok=True,
            ),
            Column(
                "height_z", Type.DECIMAL, ("ZS_TB/U",), required=False, on_bad=WARN, blank_ok=True
            ),
            Column("stunted", Type.FLAG, ("STUNTING",), required=False, on_bad=WARN, blank_ok=True),
        ),
        shared_keys=("child_nik",),
    ),
    Kind.PREGNANCY: Register(
        Kind.PREGNANCY,
        (
            Column("nik", Type.NIK),
            Column("name", Type.TEXT, ("NAMA",), required=False, blank_ok=True),
            Column(
                "expected_delivery_date", Type.DATE, ("HPL", "TAKSIRAN_PERSALINAN"), on_bad=WARN
            ),
            Column("village_code", Type.VILLAGE, ("KODE_DESA",)),
        ),
        shared_keys=("nik",),
    ),
    Kind.LAYOFFS: Register(
        Kind.LAYOFFS,
        (
            Column("nik", Type.NIK),
            Column("name", Type.TEXT, ("NAMA",), required=False, blank_ok=True),
            Column(
                "employer_code", Type.CODE, ("KODE_BADAN_USAHA",), required=False, blank_ok=True
            ),
            Column("layoff_date", Type.DATE, ("TGL_PHK",)),
        ),
    ),
    Kind.WORKERS: Register(
        Kind.WORKERS,
        (
            Column("nik", Type.NIK),
            Column("name", Type.TEXT, ("NAMA",), required=False, blank_ok=True),
            Column("employer_code", Type.CODE, ("KODE_BADAN_USAHA",)),
            Column(
                "employer_name", Type.TEXT, ("NAMA_BADAN_USAHA",), required=False, blank_ok=True
            ),
        ),
        shared_keys=("nik",),
    ),
}


def header_key(name: str) -> str:
    """'NO_KK', 'No. KK' and 'nokk' all match: case, spaces, dots, dashes, underscores ignored."""
    return re.sub(r"[\s._\-]+", "", name.strip().lstrip("\ufeff")).lower()

"""The spellings a register value comes in: words that mean "not known", date formats, and
for each vocabulary (sex, basic status, Ya/Tidak, JKN segment, participant status, inactive
reason, class) the canonical value and every form village systems and BPJS files write it in.

Free-text vocabularies are matched on their letters and digits only (`checks.key`).
"""

from datetime import datetime

from pesiar.registers.schema import Type
from pesiar.registers.vocabulary import REASON_SYNONYMS, SEGMENT_SYNONYMS

# Cell values that mean "not known" in village systems and spreadsheets; read as empty.
UNKNOWN_WORDS = (
    "-",
    "--",
    "null",
    "NULL",
    "Null",
    "Tdk Th",
    "TDK TH",
    "tdk th",
    "Tidak Tahu",
    "TIDAK TAHU",
    "n/a",
    "N/A",
    "#N/A",
)
# ... and, where a zero cannot be a value (identifiers, dates, sex, village), also "0".
ZERO_IS_UNKNOWN = frozenset({"nik", "kk", "noka", "date", "sex", "village"})
DATE_FORMATS = [
    "%Y-%m-%d",
    "%d-%m-%Y",
    "%d/%m/%Y",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%Y%m%d",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d-%m-%Y %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
]
SEX_VALUES = {
    "L": ("L", "LAKILAKI", "LAKI", "PRIA", "M", "MALE", "1", "LK"),
    "P": ("P", "PEREMPUAN", "WANITA", "F", "FEMALE", "W", "2", "PR"),
}
LIFE_VALUES = {
    "ALIVE": ("HIDUP", "ALIVE", "AKTIF"),
    "DECEASED": ("MATI", "MENINGGAL", "MENINGGALDUNIA", "WAFAT", "DECEASED"),
    "MOVED": ("PINDAH", "PINDAHDALAMNEGERI", "PINDAHLUARNEGERI", "PINDAHKELUAR", "MOVED"),
    "MISSING": ("HILANG", "MISSING"),
    "LEFT": ("PERGI", "LEFT"),
    "INVALID": ("TIDAKVALID", "INVALID"),
}
FLAG_VALUES = {
    "true": ("YA", "Y", "1", "TRUE", "BENAR"),
    "false": ("TIDAK", "T", "0", "FALSE", "N", "SALAH"),
}
STATUS_VALUES = {
    "ACTIVE": ("AKTIF", "ACTIVE", "A", "1", "Y", "YA", "TRUE"),
    "INACTIVE": (
        "NONAKTIF",
        "TIDAKAKTIF",
        "INACTIVE",
        "NONACTIVE",
        "NA",
        "0",
        "N",
        "TIDAK",
        "FALSE",
    ),
}
CLASS_VALUES = {
    1: ("1", "I", "KELAS1", "KELASI", "KLS1", "KLSI"),
    2: ("2", "II", "KELAS2", "KELASII", "KLS2", "KLSII"),
    3: ("3", "III", "KELAS3", "KELASIII", "KLS3", "KLSIII"),
}

# The membership vocabulary's spellings (one home: registers.vocabulary), keyed by code.
SEGMENT_VALUES = {str(code): spellings for code, spellings in SEGMENT_SYNONYMS.items()}
REASON_VALUES = {str(code): spellings for code, spellings in REASON_SYNONYMS.items()}


VOCABULARIES = {
    Type.SEX: (SEX_VALUES, "SEX_INVALID", "a sex (L/P, LAKI-LAKI/PEREMPUAN, 1/2, M/F)"),
    Type.SEGMENT: (
        SEGMENT_VALUES,
        "SEGMENT_UNKNOWN",
        "a JKN segment (PBI APBN, PBI APBD, PPU, PBPU, BP)",
    ),
    Type.STATUS: (STATUS_VALUES, "STATUS_UNKNOWN", "a participant status (AKTIF/NONAKTIF)"),
    Type.REASON: (REASON_VALUES, "REASON_UNKNOWN", "a known inactivity reason; read as OTHER"),
    Type.CLASS: (CLASS_VALUES, "CLASS_INVALID", "a class (1, 2 or 3)"),
    Type.LIFE: (
        LIFE_VALUES,
        "LIFE_STATUS_UNKNOWN",
        "a basic status (HIDUP, MATI, PINDAH, HILANG, PERGI, TIDAK VALID)",
    ),
    Type.FLAG: (FLAG_VALUES, "FLAG_INVALID", "Ya or Tidak"),
}


def guess_date_format(values: list[str]) -> str:
    """The format in DATE_FORMATS that reads most of `values` (a sample of one column)."""

    def reads(fmt: str) -> int:
        count = 0
        for value in values:
            try:
                datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
            count += 1
        return count

    return max(DATE_FORMATS, key=reads)

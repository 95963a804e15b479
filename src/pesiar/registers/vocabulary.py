"""The membership vocabulary: JKN segments and the reasons a participant is inactive, each
code with its words (through gettext) and the spellings BPJS extracts use for it.

One home for these codes: the importer reads the spellings (`SEGMENT_SYNONYMS`,
`REASON_SYNONYMS`, written in the importer's normal form: upper case, letters and digits
only), the indicators count by `SEGMENTS` and `REASONS`, the pages show the labels, and the
field app registers families in `RegistrationSegment`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Segment(models.TextChoices):
    """Who pays for a participant's cover (the membership register's segment)."""

    PBI_APBN = "PBI_APBN", _("PBI APBN (paid by the central government)")
    PBI_APBD = "PBI_APBD", _("PBI APBD (paid by the Pemda)")
    PPU = "PPU", _("PPU (wage earners)")
    PBPU = "PBPU", _("PBPU (self-paying)")
    BP = "BP", _("BP (non-workers)")


class InactiveReason(models.TextChoices):
    """Why a registered participant's cover is not active."""

    ARREARS = "ARREARS", _("Arrears")
    PBI_DEACTIVATED = "PBI_DEACTIVATED", _("PBI deactivated")
    LAYOFF_ENDED = "LAYOFF_ENDED", _("Layoff cover ended")
    DECEASED = "DECEASED", _("Deceased")
    OTHER = "OTHER", _("Other")


class RegistrationSegment(models.TextChoices):
    """The segments an agent can register a family in, worded for the registration (what the
    family signs up to). PBI-APBN is not among them: the state enrols it, not the agent."""

    PBPU = Segment.PBPU.value, _("PBPU (self-paying, whole family card)")
    PBI_APBD = Segment.PBI_APBD.value, _("PBI-APBD (paid by the Pemda)")
    PPU = Segment.PPU.value, _("PPU (wage earner, through the employer)")
    BP = Segment.BP.value, _("BP (non-worker)")


SEGMENTS: tuple[str, ...] = tuple(Segment.values)
REASONS: tuple[str, ...] = tuple(InactiveReason.values)
SEGMENT_LABELS = dict(Segment.choices)
REASON_LABELS = dict(InactiveReason.choices)

# How extracts spell each segment, in normal form ('PBPU / Mandiri' -> 'PBPUMANDIRI').
SEGMENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    Segment.PBI_APBN: ("PBIAPBN", "PBIJK", "PBI", "PBIPUSAT", "PBINASIONAL"),
    Segment.PBI_APBD: (
        "PBIAPBD",
        "PBPUPEMDA",
        "PBIDAERAH",
        "PBIPEMDA",
        "PBPUBPPEMDA",
        "PENDUDUKYANGDIDAFTARKANOLEHPEMDA",
    ),
    Segment.PPU: (
        "PPU",
        "PPUPN",
        "PPUBU",
        "PEKERJAPENERIMAUPAH",
        "PPUPNS",
        "PPUSWASTA",
        "PNSDAERAH",
        "PNSPUSAT",
        "PEGAWAISWASTA",
        "PEGAWAIPEMERINTAHNONPEGAWAINEGERI",
        "PPNPN",
        "TNIAD",
        "TNIAL",
        "TNIAU",
        "POLRI",
        "PEJABATNEGARA",
        "KEPALADESAPERANGKATDESA",
    ),
    Segment.PBPU: (
        "PBPU",
        "MANDIRI",
        "PBPUMANDIRI",
        "PEKERJABUKANPENERIMAUPAH",
        "PBPUBP",
        "PEKERJAMANDIRI",
    ),
    Segment.BP: (
        "BP",
        "BUKANPEKERJA",
        "BPMANDIRI",
        "PENERIMAPENSIUN",
        "PENERIMAPENSIUNPNS",
        "INVESTOR",
        "PEMBERIKERJA",
        "VETERAN",
        "PERINTISKEMERDEKAAN",
    ),
}
# How extracts spell each inactive reason, in normal form.
REASON_SYNONYMS: dict[str, tuple[str, ...]] = {
    InactiveReason.ARREARS: ("ARREARS", "TUNGGAKAN", "MENUNGGAK", "TUNGGAK", "TUNGGAKANIURAN"),
    InactiveReason.PBI_DEACTIVATED: (
        "PBIDEACTIVATED",
        "PBIDINONAKTIFKAN",
        "NONAKTIFPBI",
        "PBINONAKTIF",
    ),
    InactiveReason.LAYOFF_ENDED: ("LAYOFFENDED", "PHK", "PHKBERAKHIR", "MASAPHKBERAKHIR"),
    InactiveReason.DECEASED: ("DECEASED", "MENINGGAL", "MENINGGALDUNIA", "MATI", "WAFAT"),
    InactiveReason.OTHER: ("OTHER", "LAINNYA", "LAIN", "LAINLAIN"),
}

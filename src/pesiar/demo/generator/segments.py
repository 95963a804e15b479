"""The segments as the generator draws them: by index into the vocabulary's codes, how BPJS
extracts spell each one (free text the importer maps back), and what a self-payer owes."""

import numpy as np

from pesiar.registers import vocabulary
from pesiar.registers.vocabulary import Segment

# Segments by index, in the vocabulary's order.
SEGMENTS = np.array(vocabulary.SEGMENTS)
PBI_APBN, PBI_APBD, PPU, PBPU, BP = (vocabulary.SEGMENTS.index(s) for s in Segment)
# How BPJS extracts spell the segments (free text the importer maps back).
SEGMENT_TEXT = {
    PBI_APBN: ("PBI APBN", "PBI-APBN", "PBI JK"),
    PBI_APBD: ("PBI APBD", "PBPU PEMDA", "PBI (APBD)"),
    PPU: ("PPU BU", "PPU"),
    PBPU: ("PBPU", "MANDIRI", "PBPU/MANDIRI"),
    BP: ("BP", "BUKAN PEKERJA"),
}
PPU_PN_TEXT = "PPU PN"
# Monthly premium a self-paying participant owes per class (Rp, 2024).
PREMIUM = {1: 150_000, 2: 100_000, 3: 35_000}

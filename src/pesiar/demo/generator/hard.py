"""The hard noise profile (`pesiar generate --noise hard`): what real BPJS extracts do to
names, NIKs, birth dates and addresses beyond the default profile.

Applied to the membership extract after it is built, with its own random stream, so the
default profile's bytes (and the figures calibrated on them) do not change. Each card
gets at most one hard kind; the truth's `noise` column lists every kind of noise a card
carries (the default ones too), so benches can report recall and false links per kind.

Kinds: titles and degrees (H., HJ., S.PD, AMD.KEP), BIN/BINTI patronyms, initials (M.,
MOH., ABD., a first-letter initial), spelling variants, swapped word order, a dropped
word, words run together, mononyms (one word of the name), transposed NIK digits,
all-zero and 15-digit NIKs, a household member's NIK on the card, the other twin's NIK
on a twin's card (`twin_nik`: twins share a KK, a birth date and all of the NIK but the
serial), default birth dates (01-07, 31-12), a birth year off by one, a move to another
village of the regency, and two cards on one NIK.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pesiar.demo.generator.noise import typo

# (kind, share of cards).
KINDS = (
    ("title", 0.015),
    ("degree", 0.01),
    ("bin_binti", 0.02),
    ("initial", 0.015),
    ("variant", 0.01),
    ("word_order", 0.01),
    ("dropped_word", 0.01),
    ("run_together", 0.01),
    ("mononym", 0.01),
    ("nik_transposed", 0.01),
    ("nik_zero", 0.004),
    ("nik_15", 0.004),
    ("relative_nik", 0.004),
    ("default_date", 0.01),
    ("year_off", 0.005),
    ("moved", 0.01),
    ("two_cards", 0.003),
)
# Share of twins' cards that carry the other twin's NIK (kind "twin_nik").
TWIN_NIK_SHARE = 0.25
FATHERS = ("ABDULLAH", "HASAN", "ISMAIL", "KASIM", "RAHMAN", "SULAIMAN", "UMAR", "YAHYA")
DEGREES = ("S.PD", "S.PD.I", "AMD.KEP", "S.KEP", "S.SOS", "S.E", "A.MD")
INITIALS = {"MUHAMMAD": "M.", "MOHAMMAD": "MOH.", "ABDUL": "ABD.", "AHMAD": "A."}


def _name(kind: str, name: str, female: bool, rng: np.random.Generator) -> str:
    words = name.split()
    if kind == "title":
        return ("HJ. " if female else "H. ") + name
    if kind == "degree":
        return f"{name} {DEGREES[rng.integers(0, len(DEGREES))]}"
    if kind == "bin_binti":
        return f"{name} {'BINTI' if female else 'BIN'} {FATHERS[rng.integers(0, len(FATHERS))]}"
    if kind == "initial" and len(words) > 1:
        words[0] = INITIALS.get(words[0], words[0][0] + ".")
    elif kind == "variant":
        i = int(rng.integers(0, len(words)))
        words[i] = typo(words[i], rng)
    elif kind == "word_order" and len(words) > 1:
        words = words[1:] + words[:1]
    elif kind == "dropped_word" and len(words) > 2:
        del words[int(rng.integers(1, len(words)))]
    elif kind == "run_together" and len(words) > 1:
        words = ["".join(words)]
    elif kind == "mononym" and len(words) > 1:
        words = [max(words, key=len)]
    return " ".join(words)


def _nik(kind: str, nik: str | None, rng: np.random.Generator) -> str | None:
    if nik is None or len(nik) != 16:
        return nik
    if kind == "nik_transposed":
        for _ in range(10):
            i = int(rng.integers(6, 15))
            if nik[i] != nik[i + 1]:
                return nik[:i] + nik[i + 1] + nik[i] + nik[i + 2 :]
        return nik
    if kind == "nik_zero":
        return "0" * 16
    if kind == "nik_15":
        i = int(rng.integers(0, 16))
        return nik[:i] + nik[i + 1 :]
    return nik


def _date(kind: str, text: str, rng: np.random.Generator) -> str:
    day, month, year = text.split("/")
    if kind == "default_date":
        return ("01/07/" if rng.random() < 0.5 else "31/12/") + year
    if kind == "year_off":
        shifted = int(year) + (1 if rng.random() < 0.5 else -1)
        if month == "02" and day == "29":
            day = "28"
        return f"{day}/{month}/{shifted}"
    return text


def apply(
    table: pa.Table,
    truth: pa.Table,
    seed: int,
    village_digits: np.ndarray,
    twins: dict[str, str] | None = None,
) -> tuple[pa.Table, pa.Table]:
    """The membership extract and its truth with the hard noise added. `twins` maps the
    NIK of each twin in the population to the other twin's."""
    rng = np.random.default_rng([seed, 20_241_201])
    n = truth.num_rows
    shares = np.array([s for _, s in KINDS])
    pick = np.searchsorted(np.cumsum(shares), rng.random(n), side="right")
    kind = np.array([k for k, _ in KINDS] + [""], dtype=object)[pick]

    noka_t = truth["noka"].to_numpy(zero_copy_only=False)
    order = np.argsort(noka_t)
    rows = order[np.searchsorted(noka_t[order], table["NOKA"].to_numpy(zero_copy_only=False))]
    first = np.full(n, -1)
    first[rows[::-1]] = np.arange(len(rows))[::-1]  # the first table row of each card

    nik = table["NIK"].to_numpy(zero_copy_only=False).astype(object)
    name = table["NAMA"].to_numpy(zero_copy_only=False).astype(object)
    birth = table["TGL_LAHIR"].to_numpy(zero_copy_only=False).astype(object)
    village = table["KODE_DESA"].to_numpy(zero_copy_only=False).astype(object)
    female = table["JENIS_KELAMIN"].to_numpy(zero_copy_only=False) == "P"
    kk = table["NO_KK"].to_numpy(zero_copy_only=False)

    new_nik, new_name, new_birth, new_village = {}, {}, {}, {}
    by_kk = _cards_by_family(kind, kk, first)
    true_nik = truth["true_nik"].to_numpy(zero_copy_only=False)
    twins = twins or {}
    for i in np.flatnonzero(np.isin(true_nik, np.array(list(twins), dtype=object))):
        if kind[i] == "" and first[i] >= 0 and rng.random() < TWIN_NIK_SHARE:
            kind[i] = "twin_nik"
    regency = np.array([v[:4] for v in village_digits])
    for i in np.flatnonzero(kind != ""):
        row, k = first[i], kind[i]
        if k in ("nik_transposed", "nik_zero", "nik_15"):
            new_nik[i] = _nik(k, nik[row], rng)
        elif k == "twin_nik":
            new_nik[i] = twins[true_nik[i]]
        elif k == "relative_nik":
            others = [j for j in by_kk[kk[row]] if j != i and nik[first[j]]]
            # A twin's NIK is the one most easily taken for one's own.
            same_day = [j for j in others if birth[first[j]] == birth[row]]
            others = same_day or others
            if others:
                new_nik[i] = nik[first[others[int(rng.integers(0, len(others)))]]]
            else:
                kind[i] = ""
        elif k in ("default_date", "year_off"):
            if birth[row]:
                new_birth[i] = _date(k, birth[row], rng)
        elif k == "moved":
            options = village_digits[regency == str(village[row])[:4]]
            options = options[options != village[row]]
            if len(options):
                new_village[i] = options[rng.integers(0, len(options))]
        elif k != "two_cards" and name[row]:
            new_name[i] = _name(k, name[row], bool(female[row]), rng)
    table = _changed(
        table,
        rows,  # the truth row of every table row
        (
            ("NIK", nik, new_nik),
            ("NAMA", name, new_name),
            ("TGL_LAHIR", birth, new_birth),
            ("KODE_DESA", village, new_village),
        ),
    )
    # Two cards on one NIK: a second card, with its own NOKA, for the same person.
    twice = np.flatnonzero(kind == "two_cards")
    extra = table.take(pa.array(first[twice]))
    nokas = [f"{9_000_000_000_000 + int(i):013d}" for i in twice]
    extra = extra.set_column(0, "NOKA", pa.array(nokas, table.schema.field("NOKA").type))
    return pa.concat_tables([table, extra]), _truth(truth, kind, twice, nokas)


def _cards_by_family(kind: np.ndarray, kk: np.ndarray, first: np.ndarray) -> dict:
    """{KK: its cards} for the families where a card takes a relative's NIK."""
    by_kk: dict[str, list[int]] = {}
    for i in np.flatnonzero(kind == "relative_nik"):
        by_kk.setdefault(kk[first[i]], [])
    for i in range(len(kind)):
        if kk[first[i]] in by_kk:
            by_kk[kk[first[i]]].append(i)
    return by_kk


def _changed(table: pa.Table, card: np.ndarray, columns: tuple) -> pa.Table:
    """`table` with each (column, values, {card: new value}) change written into its rows."""
    for column, values, changes in columns:
        if changes:
            changed = np.isin(card, np.fromiter(changes, int))
            for r in np.flatnonzero(changed):
                values[r] = changes[card[r]]
            position = table.schema.get_field_index(column)
            table = table.set_column(
                position, column, pa.array(values, table.schema.field(column).type)
            )
    return table


def _truth(truth: pa.Table, kind: np.ndarray, twice: np.ndarray, nokas: list[str]) -> pa.Table:
    """The noise kinds of every card as a list column; the second cards added (marked
    duplicated: one person has one card that counts)."""
    nik_noise = truth["nik_noise"].to_numpy(zero_copy_only=False)
    variant = truth["name_variant"].to_numpy(zero_copy_only=False)
    other_village = truth["other_village"].to_numpy(zero_copy_only=False)
    noise = []
    for i in range(truth.num_rows):
        kinds = []
        if nik_noise[i]:
            kinds.append(f"nik_{nik_noise[i]}")
        if variant[i]:
            kinds.append("name_variant")
        if other_village[i]:
            kinds.append("other_village")
        if kind[i]:
            kinds.append(kind[i])
        noise.append(kinds)
    truth = truth.append_column("noise", pa.array(noise, pa.list_(pa.string())))
    extra = truth.take(pa.array(twice))
    extra = extra.set_column(0, "noka", pa.array(nokas, truth.schema.field("noka").type))
    position = truth.schema.get_field_index("duplicated")
    extra = extra.set_column(position, "duplicated", pa.array([True] * len(twice)))
    return pa.concat_tables([truth, extra]).combine_chunks()

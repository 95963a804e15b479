"""Small population and membership registers of a chosen shape, written from scratch."""

import csv
import itertools
import random
from datetime import date, timedelta

from pesiar.regions.nik import build

VILLAGES = ("15.02.05.1002", "15.71.10.1004", "15.01.01.1004")
GIVEN = ("SUPARMI", "JUNAIDI", "SITI", "AHMAD", "NUR", "RINA", "BUDI", "DEWI", "AGUS", "YANTI")
FAMILY = ("AMINAH", "SAPUTRA", "HASANAH", "RAHMAN", "LESTARI", "SURYADI", "WATI", "HIDAYAT")
FILES = itertools.count()


def registers(
    seed: int,
    *,
    people: int = 200,
    villages: int = 1,
    stage2: str = "mixed",  # "none": every card has its NIK; "only": no card has one right
    nik_blank: bool = False,
    one_sex: bool = False,
    same_birth: bool = False,
    mononyms: bool = False,
    strangers: bool = False,  # the membership file holds none of the residents
    registered: float = 0.7,
):
    """Rows of a population and a membership file of that shape."""
    rng = random.Random(seed)
    residents, cards = [], []
    for i in range(people):
        village = VILLAGES[i % villages]
        sex = "P" if one_sex else rng.choice("LP")
        birth = date(1940, 1, 1) + timedelta(rng.randrange(25000))
        birth = date(1980, 1, 1) if same_birth else birth
        serial = 1 + i
        nik = build(village[:8], birth, sex, serial)
        kk = f"{village.replace('.', '')[:6]}0101{1000 + i // 4:06d}"
        name = rng.choice(GIVEN) if mononyms else f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
        residents.append([nik, kk, name, sex, birth.strftime("%d-%m-%Y"), village])
        if strangers or rng.random() >= registered:
            continue
        card_nik = "" if nik_blank else nik
        if stage2 == "only" and not nik_blank:
            card_nik = nik[:-4] + f"{(serial + 5000) % 10000:04d}"  # a wrong serial
        elif stage2 == "mixed" and rng.random() < 0.15:
            card_nik = ""
        cards.append([card_nik, name, sex, birth.strftime("%d/%m/%Y"), kk, village])
    if strangers:
        for i in range(max(people // 2, 1)):
            birth = date(1950, 1, 1) + timedelta(rng.randrange(20000))
            sex = rng.choice("LP")
            nik = build("15.03.01", birth, sex, 1 + i)
            name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
            cards.append([nik, name, sex, birth.strftime("%d/%m/%Y"), "", "15.03.01.1001"])
    return residents, cards


def card_number(row: int) -> str:
    """The Noka `write` gives the card on row `row` of the membership file."""
    return f"{1_000_000_000 + row * 7:013d}"


def write(tmp_path, residents, cards):
    population = tmp_path / f"population-{next(FILES)}.csv"
    with population.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["NIK", "NO_KK", "NAMA_LGKP", "JENIS_KLMIN", "TGL_LHR", "KODE_DESA"])
        out.writerows(residents)
    membership = tmp_path / f"membership-{next(FILES)}.csv"
    with membership.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                *("NOKA", "NIK", "NAMA", "JENIS_KELAMIN", "TGL_LAHIR", "NO_KK", "KODE_DESA"),
                *("SEGMEN", "KELAS", "STATUS_PESERTA"),
            ]
        )
        for i, card in enumerate(cards):
            out.writerow([card_number(i), *card, "PBPU", "3", "AKTIF"])
    return population, membership

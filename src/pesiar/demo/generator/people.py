"""Households and residents: size, roles, ages, sex, names, NIK and family-card numbers.

Everything is vectorised with NumPy over the whole province; a person is a row index into
the arrays of `People`, members of a household are contiguous and ordered head first.
"""

from dataclasses import dataclass, field
from datetime import date

import numpy as np
from faker.providers.address.id_ID import Provider as AddressProvider
from faker.providers.person.id_ID import Provider as PersonProvider

# Household sizes 1..8 (Jambi averages about 3.7 people per family card).
HOUSEHOLD_SIZE_P = np.array([0.08, 0.16, 0.22, 0.24, 0.16, 0.08, 0.04, 0.02])

ROLE_HEAD, ROLE_SPOUSE, ROLE_CHILD, ROLE_PARENT = 0, 1, 2, 3
ROLE_NAMES = np.array(["KEPALA KELUARGA", "ISTRI", "ANAK", "ORANG TUA"], dtype=object)

MALE_PREFIXES = np.array(["MUHAMMAD", "MUHAMMAD", "MUHAMMAD", "AHMAD", "AHMAD", "ABDUL"])
FEMALE_PREFIXES = np.array(["SITI", "SITI", "SITI", "NUR", "NUR"])
MALE_FIRST = np.array([n.upper() for n in PersonProvider.first_names_male])
FEMALE_FIRST = np.array([n.upper() for n in PersonProvider.first_names_female])
MALE_LAST = np.array([n.upper() for n in PersonProvider.last_names_male])
FEMALE_LAST = np.array([n.upper() for n in PersonProvider.last_names_female])
STREETS = np.array([s.upper() for s in AddressProvider.streets])


def group_rank(groups: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Rank (0-based) of each element within its group, ordered by `key` ascending."""
    order = np.lexsort((key, groups))
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - run_start
    return rank


def take_in_order(
    groups: np.ndarray, sizes: np.ndarray, key: np.ndarray, quota: np.ndarray
) -> np.ndarray:
    """Walk units (households) of each group in `key` order, taking their members until the
    group's quota is met; return how many members of each unit were taken (the last unit
    taken may be partial). quota is indexed by group."""
    order = np.lexsort((key, groups))
    g, s = groups[order], sizes[order]
    cum = np.cumsum(s)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    offset = np.repeat(np.r_[0, cum[starts[1:] - 1]], np.diff(np.r_[starts, len(order)]))
    before = cum - s - offset
    taken_sorted = np.clip(quota[g] - before, 0, s)
    if np.any(quota[np.unique(g)] > np.bincount(g, weights=s, minlength=len(quota))[np.unique(g)]):
        raise ValueError("a quota exceeds the members available")
    taken = np.empty(len(order), dtype=np.int64)
    taken[order] = taken_sorted
    return taken


def dates_to_days(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


@dataclass
class People:
    """Persons (rows) and households, as parallel arrays."""

    # households
    hh_village: np.ndarray  # index into the village table
    hh_start: np.ndarray  # first person of the household
    hh_size: np.ndarray
    hh_kk: np.ndarray  # family-card number (int64, 16 digits)
    hh_rt: np.ndarray
    hh_rw: np.ndarray
    hh_address: np.ndarray  # object strings
    # persons
    household: np.ndarray
    position: np.ndarray  # 0 = first member
    role: np.ndarray
    sex_female: np.ndarray  # bool
    birth_days: np.ndarray  # days since 1970-01-01
    nik_district: np.ndarray  # index into the district table (district of first registration)
    twin: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # row, or -1
    nik: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    name: np.ndarray = field(default_factory=lambda: np.empty(0, object))

    def __len__(self) -> int:
        return len(self.household)


def household_sizes(rng: np.random.Generator, total: int) -> np.ndarray:
    """Household sizes adding up exactly to `total` (the last one trimmed)."""
    n = int(total / 3.4) + 8
    while True:
        sizes = rng.choice(np.arange(1, 9), size=n, p=HOUSEHOLD_SIZE_P)
        cum = np.cumsum(sizes)
        if cum[-1] >= total:
            break
        n *= 2
    last = int(np.searchsorted(cum, total))
    sizes = sizes[: last + 1].copy()
    sizes[-1] -= int(cum[last] - total)
    return sizes


def _roles(
    rng: np.random.Generator,
    hh_size: np.ndarray,
    hh_start: np.ndarray,
    household: np.ndarray,
    position: np.ndarray,
) -> np.ndarray:
    """Each member's role: the head first, then the spouse; an elderly parent last."""
    n_hh = len(hh_size)
    has_spouse = (hh_size >= 2) & (rng.random(n_hh) < 0.92)
    has_parent = (hh_size >= 3) & (rng.random(n_hh) < 0.12)
    role = np.full(len(household), ROLE_CHILD, dtype=np.int8)
    role[position == 0] = ROLE_HEAD
    role[(position == 1) & has_spouse[household]] = ROLE_SPOUSE
    last = hh_start + hh_size - 1
    role[last[has_parent]] = ROLE_PARENT
    return role


def _addresses(rng: np.random.Generator, urban: np.ndarray) -> np.ndarray:
    """A street address in town, the hamlet (dusun) in the country, per household."""
    n_hh = len(urban)
    street = STREETS[rng.integers(0, len(STREETS), n_hh)]
    number = rng.integers(1, 250, n_hh)
    dusun = rng.integers(1, 7, n_hh)
    return np.array(
        [
            f"JL. {s} NO. {n}" if u else f"DUSUN {d}"
            for s, n, d, u in zip(street, number, dusun, urban, strict=True)
        ],
        dtype=object,
    )


def build_households(
    rng: np.random.Generator,
    people_per_village: np.ndarray,
    village_district: np.ndarray,
    village_is_urban: np.ndarray,
    n_districts: int,
    as_of: date,
) -> People:
    """Households and their members with roles, sex and birth dates."""
    sizes_list = [household_sizes(rng, int(n)) for n in people_per_village]
    hh_size = np.concatenate(sizes_list).astype(np.int64)
    hh_village = np.repeat(np.arange(len(people_per_village)), [len(s) for s in sizes_list])
    n_hh = len(hh_size)
    hh_start = np.r_[0, np.cumsum(hh_size)[:-1]]
    household = np.repeat(np.arange(n_hh), hh_size)
    position = np.arange(len(household)) - hh_start[household]

    role = _roles(rng, hh_size, hh_start, household, position)

    # Head: usually a man aged 22-80; one-person households are often elderly widows.
    head_female = np.where(hh_size == 1, rng.random(n_hh) < 0.45, rng.random(n_hh) < 0.09)
    head_age = np.clip(21 + rng.gamma(3.0, 7.5, n_hh), 19, 92)
    head_age = np.where(
        (hh_size == 1) & (rng.random(n_hh) < 0.4), rng.uniform(60, 88, n_hh), head_age
    )
    spouse_age = np.clip(head_age - 3 + rng.normal(0, 3.5, n_hh), 17, 90)
    mother_age = np.where(head_female, head_age, spouse_age)

    hh = household
    age = np.empty(len(hh))
    female = np.empty(len(hh), dtype=bool)
    is_head = role == ROLE_HEAD
    age[is_head] = head_age[hh[is_head]]
    female[is_head] = head_female[hh[is_head]]
    is_spouse = role == ROLE_SPOUSE
    age[is_spouse] = spouse_age[hh[is_spouse]]
    female[is_spouse] = ~head_female[hh[is_spouse]]
    is_child = role == ROLE_CHILD
    # Children: born when the mother was 17-42, still at home (younger than 30).
    oldest = np.clip(mother_age[hh[is_child]] - 17, 0.2, 28)
    youngest = np.clip(mother_age[hh[is_child]] - 42, 0, oldest)
    age[is_child] = youngest + rng.random(is_child.sum()) * (oldest - youngest)
    female[is_child] = rng.random(is_child.sum()) < 0.49
    is_parent = role == ROLE_PARENT
    age[is_parent] = np.clip(
        head_age[hh[is_parent]] + 26 + rng.normal(0, 4, is_parent.sum()), 45, 98
    )
    female[is_parent] = rng.random(is_parent.sum()) < 0.62

    as_of_days = dates_to_days(as_of)
    birth_days = np.minimum(as_of_days - np.floor(age * 365.25).astype(np.int64), as_of_days - 1)

    # District of first registration: mostly the home district, some born elsewhere in Jambi.
    home_district = village_district[hh_village[hh]]
    moved = rng.random(len(hh)) < 0.1
    nik_district = np.where(moved, rng.integers(0, n_districts, len(hh)), home_district)
    twin = make_twins(rng, hh, role, female, birth_days, nik_district)

    hh_rt = rng.integers(1, 16, n_hh)
    hh_rw = rng.integers(1, 6, n_hh)
    hh_address = _addresses(rng, village_is_urban[hh_village])
    return People(
        hh_village=hh_village,
        hh_start=hh_start,
        hh_size=hh_size,
        hh_kk=np.zeros(n_hh, dtype=np.int64),
        hh_rt=hh_rt,
        hh_rw=hh_rw,
        hh_address=hh_address,
        household=household,
        position=position,
        role=role,
        sex_female=female,
        birth_days=birth_days,
        nik_district=nik_district,
        twin=twin,
    )


# Share of pairs of same-sex siblings next to each other on a family card who are twins
# (about 1 birth in 100 is a twin birth; half of the pairs are of one sex).
TWIN_SHARE = 0.02


def make_twins(
    rng: np.random.Generator,
    household: np.ndarray,
    role: np.ndarray,
    female: np.ndarray,
    birth_days: np.ndarray,
    nik_district: np.ndarray,
) -> np.ndarray:
    """Make some children twins of the sibling listed before them, in place: same birth
    date and district of registration, hence NIKs that differ only in the serial. Returns
    for each person the row of the twin (-1 for none).

    Drawn from a stream of its own (spawned from `rng`'s seed, `rng` itself untouched), so
    every other figure of a scenario stays as it was.
    """
    own = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
    n = len(household)
    second = (
        np.flatnonzero(
            (role[1:] == ROLE_CHILD)
            & (role[:-1] == ROLE_CHILD)
            & (household[1:] == household[:-1])
            & (female[1:] == female[:-1])
        )
        + 1
    )
    second = second[own.random(len(second)) < TWIN_SHARE]
    # A child cannot be the second of one pair and the first of another (triplets aside).
    second = second[~np.isin(second - 1, second)]
    birth_days[second] = birth_days[second - 1]
    nik_district[second] = nik_district[second - 1]
    twin = np.full(n, -1, dtype=np.int64)
    twin[second] = second - 1
    twin[second - 1] = second
    return twin


def make_names(rng: np.random.Generator, female: np.ndarray) -> np.ndarray:
    """Indonesian names in capitals, as Dukcapil writes them (Jambi: many Malay-Muslim names)."""
    n = len(female)
    first = np.where(
        female,
        FEMALE_FIRST[rng.integers(0, len(FEMALE_FIRST), n)],
        MALE_FIRST[rng.integers(0, len(MALE_FIRST), n)],
    )
    last = np.where(
        female,
        FEMALE_LAST[rng.integers(0, len(FEMALE_LAST), n)],
        MALE_LAST[rng.integers(0, len(MALE_LAST), n)],
    )
    prefix = np.where(
        female,
        FEMALE_PREFIXES[rng.integers(0, len(FEMALE_PREFIXES), n)],
        MALE_PREFIXES[rng.integers(0, len(MALE_PREFIXES), n)],
    )
    use_prefix = rng.random(n) < np.where(female, 0.22, 0.28)
    use_last = rng.random(n) < 0.6
    return np.array(
        [
            " ".join(part for part, on in ((p, up), (f, True), (la, ul)) if on)
            for p, f, la, up, ul in zip(prefix, first, last, use_prefix, use_last, strict=True)
        ],
        dtype=object,
    )


def ddmmyy(days: np.ndarray, female: np.ndarray | None) -> np.ndarray:
    """The DDMMYY part of a NIK (day + 40 for women) or of a family-card number."""
    dt = days.astype("datetime64[D]")
    years = dt.astype("datetime64[Y]").astype(np.int64) + 1970
    months = (dt.astype("datetime64[M]").astype(np.int64) % 12) + 1
    day = (dt - dt.astype("datetime64[M]")).astype(np.int64) + 1
    if female is not None:
        day = day + 40 * female
    return day * 10000 + months * 100 + years % 100


def numbers_with_serial(district6: np.ndarray, middle6: np.ndarray) -> np.ndarray:
    """16-digit numbers PPRRDD + DDMMYY + serial, serial counting from 0001 within each prefix."""
    prefix = district6.astype(np.int64) * 1_000_000 + middle6
    serial = group_rank(prefix, np.arange(len(prefix))) + 1
    if serial.max(initial=0) > 9999:
        raise ValueError("more than 9999 numbers share a prefix")
    return prefix * 10_000 + serial

"""Drawing the Jambi scenario's people, step by step: households and deaths, welfare and work,
employers, who is covered, identity numbers, and who is on the social lists.

Each step takes the random generator and the `World` drawn so far, and adds its own arrays to
it; the steps run in a fixed order, so the same seed draws the same world.
"""

from datetime import date
from types import SimpleNamespace

import numpy as np

from pesiar.demo.generator import calibration as cal
from pesiar.demo.generator.people import (
    ROLE_SPOUSE,
    build_households,
    dates_to_days,
    ddmmyy,
    group_rank,
    make_names,
    numbers_with_serial,
    take_in_order,
)
from pesiar.demo.generator.segments import BP, PBI_APBD, PBI_APBN, PBPU, PPU
from pesiar.demo.generator.villages import jambi_villages, plan_coverage, plan_populations
from pesiar.regions import builtin

GOVERNMENT_OFFICES = ("DINAS PENDIDIKAN", "DINAS KESEHATAN", "SEKRETARIAT DAERAH", "RSUD")
COMPANY_WORDS = np.array(
    [
        "SAWIT",
        "JAYA",
        "ABADI",
        "MAKMUR",
        "SENTOSA",
        "KARYA",
        "MANDIRI",
        "BERSAMA",
        "SEJAHTERA",
        "AGRO",
        "BATANG",
        "TIRTA",
        "BUMI",
        "LESTARI",
        "PRIMA",
        "NUSANTARA",
        "SUMBER",
        "REJEKI",
        "MITRA",
        "ANUGERAH",
        "PERKASA",
        "INTI",
        "UTAMA",
        "MERANGIN",
        "SEMBILAN",
        "KENCANA",
        "GEMILANG",
    ]
)


class World(SimpleNamespace):
    """The scenario as drawn so far: arrays per person (`p`, `alive`, `nik`, ...), per household
    (`hh_decile`, `hh_segment`, ...) and per village (`village_pop`, quotas), under the names
    the steps below give them."""


def plan(rng: np.random.Generator, population: int, as_of: date) -> World:
    """The villages and how many residents, registered and active, each one gets."""
    as_of_days = dates_to_days(as_of)
    villages, district6, district_names = jambi_villages()
    village_pop = plan_populations(rng, villages, population)
    active_quota, inactive_quota = plan_coverage(rng, villages, village_pop)
    return World(
        population=population,
        as_of=as_of,
        as_of_days=as_of_days,
        villages=villages,
        n_v=len(villages.code),
        district6=district6,
        district_names=district_names,
        village_pop=village_pop,
        active_quota=active_quota,
        inactive_quota=inactive_quota,
        registered_quota=active_quota + inactive_quota,
    )


def draw_households(rng: np.random.Generator, w: World) -> None:
    """Households, the deceased still on the register, welfare deciles and formal work."""
    deceased_n = rng.binomial(w.village_pop, 0.007)
    w.p = p = build_households(
        rng,
        w.village_pop + deceased_n,
        w.villages.district,
        w.villages.urban,
        len(w.district6),
        w.as_of,
    )
    w.n = n = len(p)
    w.hh = hh = p.household
    w.person_village = p.hh_village[hh]
    w.age = (w.as_of_days - p.birth_days) / 365.25

    # The deceased (still on the register, with a death date), mostly the old.
    death_weight = np.exp((w.age - 65) / 9)
    death_key = -np.log(rng.random(n)) / death_weight
    w.alive = group_rank(w.person_village, death_key) >= deceased_n[w.person_village]
    w.death_days = np.minimum(
        np.maximum(w.as_of_days - rng.integers(1, 720, n), p.birth_days + 1), w.as_of_days - 1
    )

    w.n_hh = n_hh = len(p.hh_size)
    w.hh_alive = np.bincount(hh, weights=w.alive, minlength=n_hh).astype(np.int64)
    alive_pos = np.cumsum(w.alive) - 1
    w.alive_pos = alive_pos - np.r_[0, np.cumsum(w.hh_alive)[:-1]][hh]
    _welfare_and_work(rng, w)


def _welfare_and_work(rng: np.random.Generator, w: World) -> None:
    p, urban = w.p, w.villages.urban
    # Household welfare decile (DTKS/DTSEN): poorer in rural villages.
    village_gamma = np.exp(rng.normal(0, 0.3, w.n_v)) * np.where(urban, 0.7, 1.15)
    w.hh_decile = 1 + np.floor(10 * rng.random(w.n_hh) ** village_gamma[p.hh_village]).astype(int)

    # Formal wage work: the head, or else the spouse, when of working age.
    w.head = head = p.hh_start
    w.spouse = spouse = np.where(p.hh_size >= 2, p.hh_start + 1, p.hh_start)
    working = (w.age >= 19) & (w.age <= 57) & w.alive
    w.worker = np.where(working[head], head, np.where(working[spouse], spouse, -1))
    formal_p = 0.05 + 0.045 * (w.hh_decile - 1) + np.where(urban[p.hh_village], 0.1, 0)
    w.formal = (w.worker >= 0) & (rng.random(w.n_hh) < formal_p)


def draw_employers(rng: np.random.Generator, w: World) -> None:
    """Employers per regency, the formal workers' employer, PPU enrolment and layoffs."""
    hh_regency = w.villages.regency[w.p.hh_village]
    w.employer_code, w.employer_name, w.employer_gov, employer_regency = make_employers(
        rng, np.bincount(hh_regency[w.formal], minlength=len(cal.REGENCIES))
    )
    w.hh_employer = np.full(w.n_hh, -1)
    for r in range(len(cal.REGENCIES)):
        mine = np.flatnonzero(employer_regency == r)
        pick = w.formal & (hh_regency == r)
        w.hh_employer[pick] = mine[rng.integers(0, len(mine), pick.sum())]
    gov = w.formal & w.employer_gov[np.maximum(w.hh_employer, 0)]
    w.ppu_enrolled = w.formal & (gov | (rng.random(w.n_hh) < 0.8))
    w.laid_off = w.formal & ~gov & (rng.random(w.n_hh) < 0.07)
    w.layoff_days = np.where(w.laid_off, w.as_of_days - rng.integers(5, 360, w.n_hh), -1)
    w.layoff_old = w.laid_off & (w.as_of_days - w.layoff_days > 183)


def make_employers(rng: np.random.Generator, formal_per_regency: np.ndarray):
    codes, names, gov, regency = [], [], [], []
    for r, target in enumerate(cal.REGENCIES):
        regency_name = next(x.name for x in builtin.rows(2) if x.code == target.code).upper()
        short = regency_name.replace("KABUPATEN ", "KAB. ")
        count = max(len(GOVERNMENT_OFFICES) + 3, int(formal_per_regency[r]) // 30)
        for k in range(count):
            codes.append(f"{target.code.replace('.', '')}{k + 1:04d}")
            regency.append(r)
            if k < len(GOVERNMENT_OFFICES):
                names.append(f"{GOVERNMENT_OFFICES[k]} {short}")
                gov.append(True)
            else:
                a, b = COMPANY_WORDS[rng.choice(len(COMPANY_WORDS), 2, replace=False)]
                kind = ("PT", "PT", "CV", "KOPERASI")[rng.integers(0, 4)]
                names.append(f"{kind} {a} {b}")
                gov.append(False)
    return np.array(codes), np.array(names), np.array(gov), np.array(regency)


def draw_coverage(rng: np.random.Generator, w: World) -> None:
    """Which households are registered (the village quotas), in which segment, and which of
    their members are inactive."""
    p, hh_decile = w.p, w.hh_decile
    reg_weight = np.where(
        w.ppu_enrolled, 25.0, np.select([hh_decile <= 3, hh_decile <= 5], [0.65, 0.8], 1.15)
    ) * np.where(w.villages.urban[p.hh_village], 1.2, 1.0)
    reg_key = -np.log(rng.random(w.n_hh)) / reg_weight
    hh_registered = take_in_order(p.hh_village, w.hh_alive, reg_key, w.registered_quota)

    u = rng.random(w.n_hh)
    by_decile = np.select(
        [hh_decile <= 3, hh_decile <= 5],
        [
            np.searchsorted([0.75, 0.9, 1.0], u, side="right"),
            np.searchsorted([0.35, 0.6, 0.95], u, side="right"),
        ],
        np.searchsorted([0.1, 0.15, 0.85], u, side="right"),
    )
    by_decile = np.array([PBI_APBN, PBI_APBD, PBPU, BP])[np.minimum(by_decile, 3)]
    w.hh_segment = hh_segment = np.where(w.ppu_enrolled, PPU, by_decile)

    inactive_weight = np.select(
        [
            hh_segment == PBPU,
            hh_segment == PBI_APBD,
            hh_segment == PBI_APBN,
            w.layoff_old,
            hh_segment == PPU,
        ],
        [3.0, 1.2, 0.6, 30.0, 0.15],
        0.4,
    )
    inactive_key = -np.log(rng.random(w.n_hh)) / inactive_weight
    hh_inactive = take_in_order(p.hh_village, hh_registered, inactive_key, w.inactive_quota)

    hh = w.hh
    w.registered = w.alive & (w.alive_pos < hh_registered[hh])
    w.inactive = w.registered & (w.alive_pos < hh_inactive[hh])
    # The deceased of registered households mostly still hold a card.
    w.dead_listed = ~w.alive & (hh_registered[hh] > 0) & (rng.random(w.n) < 0.85)


def draw_identities(rng: np.random.Generator, w: World) -> None:
    """Participants who left the province, and everyone's NIK, family card number and name."""
    p, n, n_hh, district6, villages = w.p, w.n, w.n_hh, w.district6, w.villages
    n_emigrants = rng.binomial(w.registered_quota, 0.012)
    w.emi_village = np.repeat(np.arange(w.n_v), n_emigrants)
    n_emi = len(w.emi_village)
    w.emi_female = rng.random(n_emi) < 0.5
    w.emi_birth = w.as_of_days - (rng.uniform(20, 62, n_emi) * 365.25).astype(np.int64)
    emi_district = rng.integers(0, len(district6), n_emi)
    # NIK birth dates usually match the recorded one; a few were keyed differently.
    nik_birth = p.birth_days + np.where(
        rng.random(n) < 0.004, rng.choice([-3, -2, -1, 1, 2, 3], n), 0
    )
    all_niks = numbers_with_serial(
        np.r_[district6[p.nik_district], district6[emi_district]],
        np.r_[ddmmyy(nik_birth, p.sex_female), ddmmyy(w.emi_birth, w.emi_female)],
    )
    w.nik, w.emi_nik = all_niks[:n], all_niks[n:]
    issue_days = rng.integers(dates_to_days(date(2010, 1, 1)), w.as_of_days, n_hh + n_emi)
    all_kk = numbers_with_serial(
        np.r_[
            district6[villages.district[p.hh_village]], district6[villages.district[w.emi_village]]
        ],
        ddmmyy(issue_days, None),
    )
    w.kk, w.emi_kk = all_kk[:n_hh], all_kk[n_hh:]
    names = make_names(rng, np.r_[p.sex_female, w.emi_female])
    w.name, w.emi_name = names[:n], names[n:]


def draw_social_lists(rng: np.random.Generator, w: World) -> None:
    """Newborns without a NIK yet, stunted children, pregnant women and the welfare list."""
    p, age, alive = w.p, w.age, w.alive
    # Newborns with no NIK yet, seen only at the posyandu (stunting list).
    mothers = np.flatnonzero(
        alive & p.sex_female & (age >= 18) & (age <= 40) & (p.role <= ROLE_SPOUSE)
    )
    w.newborn_mother = rng.choice(
        mothers, size=min(len(mothers), w.population * 3 // 1000), replace=False
    )
    w.newborn_mother.sort()
    w.nb_female = rng.random(len(w.newborn_mother)) < 0.49
    w.nb_birth = w.as_of_days - rng.integers(10, 540, len(w.newborn_mother))
    w.nb_name = make_names(rng, w.nb_female)

    under5 = alive & (age < 5)
    w.stunted = under5 & (rng.random(w.n) < np.where(w.hh_decile[w.hh] <= 4, 0.26, 0.13))
    w.pregnant = (
        alive
        & p.sex_female
        & (age >= 18)
        & (age <= 44)
        & (p.role <= ROLE_SPOUSE)
        & (rng.random(w.n) < 0.035)
    )
    w.in_welfare_hh = rng.random(w.n_hh) < np.select(
        [w.hh_decile <= 4, w.hh_decile <= 6], [0.92, 0.3], 0
    )
    # The mother of a child: the woman among head and spouse.
    w.hh_mother = np.where(
        p.sex_female[w.head], w.head, np.where(p.sex_female[w.spouse], w.spouse, -1)
    )


DRAWING = (
    ("households", draw_households),
    ("employers", draw_employers),
    ("coverage", draw_coverage),
    ("identity numbers", draw_identities),
    ("social lists", draw_social_lists),
)

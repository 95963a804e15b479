"""The Jambi scenario: who lives where, who is covered, and the registers that describe them."""

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from pesiar.demo.generator import calibration as cal
from pesiar.demo.generator import hard
from pesiar.demo.generator.files import format_dates, write_csv, write_parquet, write_xlsx
from pesiar.demo.generator.noise import name_variant, nik_typo
from pesiar.demo.generator.people import (
    ROLE_NAMES,
    ROLE_SPOUSE,
    build_households,
    dates_to_days,
    ddmmyy,
    group_rank,
    make_names,
    numbers_with_serial,
    take_in_order,
)
from pesiar.regions import builtin

SEGMENTS = np.array(["PBI_APBN", "PBI_APBD", "PPU", "PBPU", "BP"])
PBI_APBN, PBI_APBD, PPU, PBPU, BP = range(5)
# How BPJS extracts spell the segments (free text the importer maps back).
SEGMENT_TEXT = {
    PBI_APBN: ("PBI APBN", "PBI-APBN", "PBI JK"),
    PBI_APBD: ("PBI APBD", "PBPU PEMDA", "PBI (APBD)"),
    PPU: ("PPU BU", "PPU"),
    PBPU: ("PBPU", "MANDIRI", "PBPU/MANDIRI"),
    BP: ("BP", "BUKAN PEKERJA"),
}
PPU_PN_TEXT = "PPU PN"
NOISE_PROFILES = ("default", "hard")
# Monthly premium a self-paying participant owes per class (Rp, 2024).
PREMIUM = {1: 150_000, 2: 100_000, 3: 35_000}

FILES = {
    "population": "population.csv",
    "membership": "membership.csv",
    "welfare": "welfare.csv",
    "stunting": "stunting.xlsx",
    "pregnancy": "pregnancy.csv",
    "layoffs": "layoffs.csv",
    "workers": "workers.csv",
}
TRUTH_FILES = {
    "residents": "truth/residents.parquet",
    "participants": "truth/participants.parquet",
    "villages": "truth/villages.csv",
    "regencies": "truth/regencies.csv",
}

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


@dataclass
class Scenario:
    """What `generate` wrote, as recorded in scenario.json beside the files."""

    out_dir: Path
    population: int
    seed: int
    as_of: date
    files: dict[str, str] = field(default_factory=lambda: dict(FILES))
    truth: dict[str, str] = field(default_factory=lambda: dict(TRUTH_FILES))
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def path(self, kind: str) -> Path:
        return self.out_dir / self.files[kind]

    def truth_path(self, name: str) -> Path:
        return self.out_dir / self.truth[name]

    def to_json(self) -> str:
        data = asdict(self)
        data["out_dir"] = None
        data["as_of"] = self.as_of.isoformat()
        data["seconds"] = None  # the manifest is part of the reproducible output
        data["calibration"] = {
            "regency": cal.CALIBRATED_REGENCY,
            "targets": [asdict(r) for r in cal.REGENCIES],
            "lowest_village": asdict(cal.LOWEST_VILLAGE),
            "highest_village": asdict(cal.HIGHEST_VILLAGE),
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, out_dir: Path) -> "Scenario":
        data = json.loads((out_dir / "scenario.json").read_text())
        return cls(
            out_dir=out_dir,
            population=data["population"],
            seed=data["seed"],
            as_of=date.fromisoformat(data["as_of"]),
            files=data["files"],
            truth=data["truth"],
            rows=data["rows"],
        )


@dataclass
class Villages:
    code: np.ndarray  # dotted
    name: np.ndarray
    district: np.ndarray  # index into districts
    regency: np.ndarray  # index into cal.REGENCIES
    urban: np.ndarray  # kelurahan or city


def jambi_villages() -> tuple[Villages, np.ndarray, list[str]]:
    rows = sorted(r for r in builtin.rows(4) if r.code.startswith(cal.PROVINCE + "."))
    districts = sorted(r.code for r in builtin.rows(3) if r.code.startswith(cal.PROVINCE + "."))
    district_index = {code: i for i, code in enumerate(districts)}
    regency_index = {r.code: i for i, r in enumerate(cal.REGENCIES)}
    code = np.array([r.code for r in rows])
    villages = Villages(
        code=code,
        name=np.array([r.name for r in rows], dtype=object),
        district=np.array([district_index[r.parent_code] for r in rows]),
        regency=np.array([regency_index[r.code[:5]] for r in rows]),
        urban=np.array([r.code[9] == "1" or r.code[3] == "7" for r in rows]),
    )
    district6 = np.array([int(c.replace(".", "")) for c in districts], dtype=np.int64)
    district_names = [
        next(r.name for r in builtin.rows(3) if r.code == c).upper() for c in districts
    ]
    return villages, district6, district_names


def plan_populations(rng: np.random.Generator, villages: Villages, population: int) -> np.ndarray:
    """Residents per village, summing to `population`, the calibrated villages exact."""
    if population < cal.MIN_POPULATION:
        raise ValueError(f"--population must be at least {cal.MIN_POPULATION:,}")
    scale = population / cal.FULL_POPULATION
    full = np.array([r.population for r in cal.REGENCIES])
    regency_pop = cal.allocate(population, full)
    m = [r.code for r in cal.REGENCIES].index(cal.CALIBRATED_REGENCY)
    target = cal.REGENCIES[m]
    exact = cal.exact_population(int(regency_pop[m]), (target.registered_pct, target.active_pct))
    regency_pop[np.argmax(full)] -= exact - regency_pop[m]
    regency_pop[m] = exact

    weight = rng.lognormal(0.0, 0.55, len(villages.code)) * np.where(villages.urban, 2.2, 1.0)
    village_pop = np.zeros(len(villages.code), dtype=np.int64)
    fixed = {}
    for v in cal.FIXED_VILLAGES:
        fixed[_pos(villages, v)] = cal.exact_population(
            max(round(v.population * scale), cal.MIN_VILLAGE_POPULATION),
            (v.active_pct,),
        )
    for r in range(len(cal.REGENCIES)):
        idx = np.flatnonzero(villages.regency == r)
        free = np.array([i for i in idx if i not in fixed])
        rest = int(regency_pop[r]) - sum(n for i, n in fixed.items() if i in idx)
        smallest = cal.MIN_VILLAGE_POPULATION
        if cal.REGENCIES[r].code != cal.CALIBRATED_REGENCY:
            smallest = min(smallest, rest // len(free) // 2)
        village_pop[free] = cal.allocate(rest, weight[free], low=np.full(len(free), smallest))
        for i in idx:
            if i in fixed:
                village_pop[i] = fixed[i]
    return village_pop


def plan_coverage(
    rng: np.random.Generator, villages: Villages, village_pop: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Active and inactive (registered but not active) residents per village."""
    active = np.zeros_like(village_pop)
    inactive = np.zeros_like(village_pop)
    effect = rng.normal(0, 0.05, len(village_pop)) + np.where(villages.urban, 0.03, 0.0)
    gap_effect = rng.normal(0, 0.04, len(village_pop))
    fixed = {_pos(villages, v): v for v in cal.FIXED_VILLAGES}
    for r, target in enumerate(cal.REGENCIES):
        idx = np.flatnonzero(villages.regency == r)
        pop = village_pop[idx]
        total_pop = int(pop.sum())
        total_active = round(target.active_pct / 100 * total_pop)
        total_registered = round(target.registered_pct / 100 * total_pop)
        rate = np.clip(target.active_pct / 100 + effect[idx], 0.2, 0.97)
        low, high = np.full(len(idx), 0.1), np.full(len(idx), 1.0)
        is_fixed = np.array([i in fixed for i in idx])
        fixed_active = {
            i: round(fixed[i].active_pct / 100 * village_pop[i]) for i in idx if i in fixed
        }
        if fixed_active:
            lo, hi = _pos(villages, cal.LOWEST_VILLAGE), _pos(villages, cal.HIGHEST_VILLAGE)
            lowest = cal.pct(fixed_active[lo], village_pop[lo])
            highest = cal.pct(fixed_active[hi], village_pop[hi])
            low[:] = (lowest + cal.EXTREME_MARGIN_PCT) / 100
            high[:] = (highest - cal.EXTREME_MARGIN_PCT) / 100
            rate = np.clip(rate, low + 0.005, high - 0.005)
        free = ~is_fixed
        active[idx[free]] = cal.allocate_rate(
            total_active - sum(fixed_active.values()), pop[free], rate[free], low[free], high[free]
        )
        for i, n in fixed_active.items():
            active[i] = n
        gap = (target.registered_pct - target.active_pct) / 100
        gap_rate = np.clip(gap + gap_effect[idx], 0.02, 0.6)
        for k, i in enumerate(idx):
            if i in fixed:
                gap_rate[k] = (fixed[i].registered_pct - fixed[i].active_pct) / 100
        room = pop - active[idx]
        inactive[idx] = cal.allocate(
            total_registered - total_active, gap_rate * pop, np.zeros(len(idx), np.int64), room
        )
    return active, inactive


def _pos(villages: Villages, v: cal.VillageTarget) -> int:
    return int(np.flatnonzero(villages.code == v.code)[0])


def generate(
    population: int,
    seed: int,
    out_dir: Path,
    as_of: date = cal.AS_OF,
    progress: Callable[[str], None] | None = None,
    noise: str = "default",
) -> Scenario:
    """Write the scenario's registers and ground truth under `out_dir`.

    `noise`: "default" (the calibrated profile) or "hard" (see `hard`)."""
    if noise not in NOISE_PROFILES:
        raise ValueError(f"noise profile must be one of {', '.join(NOISE_PROFILES)}, not {noise!r}")
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "truth").mkdir(exist_ok=True)
    as_of_days = dates_to_days(as_of)

    villages, district6, district_names = jambi_villages()
    n_v = len(villages.code)
    village_pop = plan_populations(rng, villages, population)
    active_quota, inactive_quota = plan_coverage(rng, villages, village_pop)
    registered_quota = active_quota + inactive_quota

    say("households")
    deceased_n = rng.binomial(village_pop, 0.007)
    p = build_households(
        rng, village_pop + deceased_n, villages.district, villages.urban, len(district6), as_of
    )
    n = len(p)
    hh = p.household
    person_village = p.hh_village[hh]
    age = (as_of_days - p.birth_days) / 365.25

    # The deceased (still on the register, with a death date), mostly the old.
    death_weight = np.exp((age - 65) / 9)
    death_key = -np.log(rng.random(n)) / death_weight
    alive = group_rank(person_village, death_key) >= deceased_n[person_village]
    death_days = np.minimum(
        np.maximum(as_of_days - rng.integers(1, 720, n), p.birth_days + 1), as_of_days - 1
    )

    n_hh = len(p.hh_size)
    hh_alive = np.bincount(hh, weights=alive, minlength=n_hh).astype(np.int64)
    alive_pos = np.cumsum(alive) - 1
    alive_pos = alive_pos - np.r_[0, np.cumsum(hh_alive)[:-1]][hh]

    # Household welfare decile (DTKS/DTSEN): poorer in rural villages.
    village_gamma = np.exp(rng.normal(0, 0.3, n_v)) * np.where(villages.urban, 0.7, 1.15)
    hh_decile = 1 + np.floor(10 * rng.random(n_hh) ** village_gamma[p.hh_village]).astype(int)

    # Formal wage work: the head, or else the spouse, when of working age.
    head = p.hh_start
    spouse = np.where(p.hh_size >= 2, p.hh_start + 1, p.hh_start)
    working = (age >= 19) & (age <= 57) & alive
    worker = np.where(working[head], head, np.where(working[spouse], spouse, -1))
    formal_p = 0.05 + 0.045 * (hh_decile - 1) + np.where(villages.urban[p.hh_village], 0.1, 0)
    formal = (worker >= 0) & (rng.random(n_hh) < formal_p)

    say("employers")
    hh_regency = villages.regency[p.hh_village]
    employer_code, employer_name, employer_gov, employer_regency = make_employers(
        rng, np.bincount(hh_regency[formal], minlength=len(cal.REGENCIES))
    )
    hh_employer = np.full(n_hh, -1)
    for r in range(len(cal.REGENCIES)):
        mine = np.flatnonzero(employer_regency == r)
        pick = formal & (hh_regency == r)
        hh_employer[pick] = mine[rng.integers(0, len(mine), pick.sum())]
    gov = formal & employer_gov[np.maximum(hh_employer, 0)]
    ppu_enrolled = formal & (gov | (rng.random(n_hh) < 0.8))
    laid_off = formal & ~gov & (rng.random(n_hh) < 0.07)
    layoff_days = np.where(laid_off, as_of_days - rng.integers(5, 360, n_hh), -1)
    layoff_old = laid_off & (as_of_days - layoff_days > 183)

    say("coverage")
    reg_weight = np.where(
        ppu_enrolled, 25.0, np.select([hh_decile <= 3, hh_decile <= 5], [0.65, 0.8], 1.15)
    ) * np.where(villages.urban[p.hh_village], 1.2, 1.0)
    reg_key = -np.log(rng.random(n_hh)) / reg_weight
    hh_registered = take_in_order(p.hh_village, hh_alive, reg_key, registered_quota)

    u = rng.random(n_hh)
    by_decile = np.select(
        [hh_decile <= 3, hh_decile <= 5],
        [
            np.searchsorted([0.75, 0.9, 1.0], u, side="right"),
            np.searchsorted([0.35, 0.6, 0.95], u, side="right"),
        ],
        np.searchsorted([0.1, 0.15, 0.85], u, side="right"),
    )
    by_decile = np.array([PBI_APBN, PBI_APBD, PBPU, BP])[np.minimum(by_decile, 3)]
    hh_segment = np.where(ppu_enrolled, PPU, by_decile)

    inactive_weight = np.select(
        [
            hh_segment == PBPU,
            hh_segment == PBI_APBD,
            hh_segment == PBI_APBN,
            layoff_old,
            hh_segment == PPU,
        ],
        [3.0, 1.2, 0.6, 30.0, 0.15],
        0.4,
    )
    inactive_key = -np.log(rng.random(n_hh)) / inactive_weight
    hh_inactive = take_in_order(p.hh_village, hh_registered, inactive_key, inactive_quota)

    registered = alive & (alive_pos < hh_registered[hh])
    inactive = registered & (alive_pos < hh_inactive[hh])
    # The deceased of registered households mostly still hold a card.
    dead_listed = ~alive & (hh_registered[hh] > 0) & (rng.random(n) < 0.85)

    say("identity numbers")
    n_emigrants = rng.binomial(registered_quota, 0.012)
    emi_village = np.repeat(np.arange(n_v), n_emigrants)
    n_emi = len(emi_village)
    emi_female = rng.random(n_emi) < 0.5
    emi_birth = as_of_days - (rng.uniform(20, 62, n_emi) * 365.25).astype(np.int64)
    emi_district = rng.integers(0, len(district6), n_emi)
    # NIK birth dates usually match the recorded one; a few were keyed differently.
    nik_birth = p.birth_days + np.where(
        rng.random(n) < 0.004, rng.choice([-3, -2, -1, 1, 2, 3], n), 0
    )
    all_niks = numbers_with_serial(
        np.r_[district6[p.nik_district], district6[emi_district]],
        np.r_[ddmmyy(nik_birth, p.sex_female), ddmmyy(emi_birth, emi_female)],
    )
    nik, emi_nik = all_niks[:n], all_niks[n:]
    issue_days = rng.integers(dates_to_days(date(2010, 1, 1)), as_of_days, n_hh + n_emi)
    all_kk = numbers_with_serial(
        np.r_[
            district6[villages.district[p.hh_village]], district6[villages.district[emi_village]]
        ],
        ddmmyy(issue_days, None),
    )
    kk, emi_kk = all_kk[:n_hh], all_kk[n_hh:]
    names = make_names(rng, np.r_[p.sex_female, emi_female])
    name, emi_name = names[:n], names[n:]

    say("social lists")
    # Newborns with no NIK yet, seen only at the posyandu (stunting list).
    mothers = np.flatnonzero(
        alive & p.sex_female & (age >= 18) & (age <= 40) & (p.role <= ROLE_SPOUSE)
    )
    newborn_mother = rng.choice(
        mothers, size=min(len(mothers), population * 3 // 1000), replace=False
    )
    newborn_mother.sort()
    nb_female = rng.random(len(newborn_mother)) < 0.49
    nb_birth = as_of_days - rng.integers(10, 540, len(newborn_mother))
    nb_name = make_names(rng, nb_female)

    under5 = alive & (age < 5)
    stunted = under5 & (rng.random(n) < np.where(hh_decile[hh] <= 4, 0.26, 0.13))
    pregnant = (
        alive
        & p.sex_female
        & (age >= 18)
        & (age <= 44)
        & (p.role <= ROLE_SPOUSE)
        & (rng.random(n) < 0.035)
    )
    in_welfare_hh = rng.random(n_hh) < np.select([hh_decile <= 4, hh_decile <= 6], [0.92, 0.3], 0)
    # The mother of a child: the woman among head and spouse.
    hh_mother = np.where(p.sex_female[head], head, np.where(p.sex_female[spouse], spouse, -1))

    scenario = Scenario(out_dir=out_dir, population=population, seed=seed, as_of=as_of)
    village_digits = np.array([c.replace(".", "") for c in villages.code])
    code_arr = pa.array(villages.code)

    say("population register")
    population_table = population_register(
        rng, p, villages, nik, kk, name, alive, death_days, district_names
    )
    write_csv(population_table, scenario.path("population"), delimiter=";")

    say("membership register")
    members = np.flatnonzero(registered | dead_listed)
    membership_table, participants_truth, noka_of_person = membership_register(
        rng,
        as_of_days=as_of_days,
        person=members,
        p=p,
        nik=nik,
        kk=kk,
        name=name,
        age=age,
        alive=alive,
        inactive=inactive,
        hh_segment=hh_segment,
        hh_decile=hh_decile,
        layoff_old=layoff_old,
        hh_employer=hh_employer,
        employer_code=employer_code,
        employer_gov=employer_gov,
        emigrants=(emi_village, emi_nik, emi_kk, emi_name, emi_female, emi_birth),
        villages=villages,
        village_digits=village_digits,
        district6=district6,
        n_persons=n,
    )
    if noise == "hard":
        paired = np.flatnonzero(p.twin >= 0)
        membership_table, participants_truth = hard.apply(
            membership_table,
            participants_truth,
            seed,
            village_digits,
            twins=dict(zip(nik[paired].astype(str), nik[p.twin[paired]].astype(str), strict=True)),
        )
    write_csv(membership_table, scenario.path("membership"))
    write_parquet(participants_truth, scenario.truth_path("participants"))

    say("welfare, stunting, pregnancy, layoffs, workers")
    listed = np.flatnonzero(in_welfare_hh[hh])
    welfare = pa.table(
        {
            "nik": pa.array(nik[listed].astype(str)),
            "kk": pa.array(kk[hh[listed]].astype(str)),
            "decile": pa.array(hh_decile[hh[listed]], pa.int8()),
            "village_code": code_arr.take(pa.array(person_village[listed])),
        }
    )
    write_csv(welfare, scenario.path("welfare"))

    kids = np.flatnonzero(stunted)
    kid_mother = hh_mother[hh[kids]]
    nb_hh = hh[newborn_mother]
    stunting = pa.table(
        {
            "child_nik": pa.array(
                list(nik[kids].astype(str)) + [None] * len(newborn_mother), pa.string()
            ),
            "child_name": pa.array(list(name[kids]) + list(nb_name), pa.string()),
            "birth_date": pa.array(
                np.r_[p.birth_days[kids], nb_birth].astype(np.int32), pa.date32()
            ),
            "sex": pa.array(np.where(np.r_[p.sex_female[kids], nb_female], "P", "L")),
            "mother_nik": pa.array(
                [str(nik[m]) if m >= 0 else None for m in kid_mother]
                + [str(x) for x in nik[newborn_mother]],
                pa.string(),
            ),
            "kk": pa.array(np.r_[kk[hh[kids]], kk[nb_hh]].astype(str)),
            "village_code": code_arr.take(
                pa.array(np.r_[person_village[kids], person_village[newborn_mother]])
            ),
        }
    )
    write_xlsx(stunting, scenario.path("stunting"), sheet="Balita Stunting")

    moms = np.flatnonzero(pregnant)
    pregnancy = pa.table(
        {
            "nik": pa.array(nik[moms].astype(str)),
            "name": pa.array(name[moms], pa.string()),
            "expected_delivery_date": format_dates(
                pa.array(
                    (as_of_days + rng.integers(7, 270, len(moms))).astype(np.int32), pa.date32()
                ),
                "%Y-%m-%d",
            ),
            "village_code": code_arr.take(pa.array(person_village[moms])),
        }
    )
    write_csv(pregnancy, scenario.path("pregnancy"), delimiter=";")

    fired = np.flatnonzero(laid_off)
    layoffs = pa.table(
        {
            "nik": pa.array(nik[worker[fired]].astype(str)),
            "name": pa.array(name[worker[fired]], pa.string()),
            "employer_code": pa.array(employer_code[hh_employer[fired]]),
            "layoff_date": format_dates(
                pa.array(layoff_days[fired].astype(np.int32), pa.date32()), "%d/%m/%Y"
            ),
        }
    )
    write_csv(layoffs, scenario.path("layoffs"))

    employed = np.flatnonzero(formal & ~laid_off)
    workers = pa.table(
        {
            "nik": pa.array(nik[worker[employed]].astype(str)),
            "name": pa.array(name[worker[employed]], pa.string()),
            "employer_code": pa.array(employer_code[hh_employer[employed]]),
            "employer_name": pa.array(employer_name[hh_employer[employed]]),
        }
    )
    write_csv(workers, scenario.path("workers"))

    say("ground truth")
    status = np.where(
        ~alive,
        "DECEASED",
        np.where(inactive, "INACTIVE", np.where(registered, "ACTIVE", "NOT_REGISTERED")),
    )
    is_worker = np.zeros(n, dtype=bool)
    is_worker[worker[formal]] = True
    residents = pa.table(
        {
            "nik": pa.array(nik.astype(str)),
            "kk": pa.array(kk[hh].astype(str)),
            "village_code": code_arr.take(pa.array(person_village)),
            "sex": pa.array(np.where(p.sex_female, "P", "L")),
            "birth_date": pa.array(p.birth_days.astype(np.int32), pa.date32()),
            "twin_nik": pa.array(np.where(p.twin >= 0, nik[p.twin].astype(str), None), pa.string()),
            "alive": pa.array(alive),
            "status": pa.array(status),
            "noka": pa.array(noka_of_person, pa.string()),
            "segment": pa.array(
                np.where(registered | dead_listed, SEGMENTS[hh_segment[hh]], None), pa.string()
            ),
            "decile": pa.array(hh_decile[hh], pa.int8()),
            "in_welfare_list": pa.array(in_welfare_hh[hh]),
            "formal_worker": pa.array(is_worker),
            "employer_code": pa.array(
                np.where(is_worker, employer_code[np.maximum(hh_employer[hh], 0)], None),
                pa.string(),
            ),
            "ppu_enrolled": pa.array(is_worker & ppu_enrolled[hh]),
            "layoff_date": pa.array(
                np.where(is_worker & laid_off[hh], layoff_days[hh], 0).astype(np.int32),
                pa.date32(),
                mask=~(is_worker & laid_off[hh]),
            ),
            "stunted": pa.array(stunted),
            "pregnant": pa.array(pregnant),
        }
    )
    write_parquet(residents, scenario.truth_path("residents"))

    v_registered = np.bincount(person_village, weights=registered, minlength=n_v).astype(int)
    v_active = np.bincount(person_village, weights=registered & ~inactive, minlength=n_v).astype(
        int
    )
    v_population = np.bincount(person_village, weights=alive, minlength=n_v).astype(int)
    assert (v_population == village_pop).all() and (v_active == active_quota).all()
    assert (v_registered == registered_quota).all()
    write_csv(
        truth_table(villages.code, villages.name, v_population, v_registered, v_active),
        scenario.truth_path("villages"),
    )
    r_codes = np.array([r.code for r in cal.REGENCIES])
    r_names = np.array([next(x.name for x in builtin.rows(2) if x.code == c) for c in r_codes])
    write_csv(
        truth_table(
            r_codes,
            r_names,
            np.bincount(villages.regency, v_population),
            np.bincount(villages.regency, v_registered),
            np.bincount(villages.regency, v_active),
        ),
        scenario.truth_path("regencies"),
    )

    scenario.rows = {
        "population": population_table.num_rows,
        "membership": membership_table.num_rows,
        "welfare": welfare.num_rows,
        "stunting": stunting.num_rows,
        "pregnancy": pregnancy.num_rows,
        "layoffs": layoffs.num_rows,
        "workers": workers.num_rows,
    }
    (out_dir / "scenario.json").write_text(scenario.to_json())
    scenario.seconds = time.perf_counter() - started
    return scenario


def truth_table(code, name, population, registered, active) -> pa.Table:
    """Figures per region with the report's rounding, ranked by active % then coverage %."""
    cov = [cal.pct(r, p) for r, p in zip(registered, population, strict=True)]
    act = [cal.pct(a, p) for a, p in zip(active, population, strict=True)]
    order = sorted(
        range(len(code)), key=lambda i: (-active[i] / population[i], -registered[i] / population[i])
    )
    rank = np.empty(len(code), dtype=np.int64)
    rank[order] = np.arange(1, len(code) + 1)
    return pa.table(
        {
            "code": pa.array(code),
            "name": pa.array(list(name), pa.string()),
            "population": pa.array(population, pa.int64()),
            "registered": pa.array(registered, pa.int64()),
            "active": pa.array(active, pa.int64()),
            "coverage_pct": pa.array(cov, pa.float64()),
            "active_pct": pa.array(act, pa.float64()),
            "rank_in_province": pa.array(rank),
        }
    )


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


def population_register(
    rng, p, villages, nik, kk, name, alive, death_days, district_names
) -> pa.Table:
    """The Dukcapil extract: Dukcapil column names, four-part region columns, `;` separated."""
    n = len(p)
    hh = p.household
    v = p.hh_village[hh]
    parts = np.array([c.split(".") for c in villages.code]).astype(int)
    relation = ROLE_NAMES[p.role]
    relation = np.where((p.role == ROLE_SPOUSE) & ~p.sex_female, "SUAMI", relation)
    birth = pa.array(p.birth_days.astype(np.int32), pa.date32())
    died = pa.array(death_days.astype(np.int32), pa.date32(), mask=alive)
    table = pa.table(
        {
            "NIK": pa.array(nik.astype(str)),
            "NO_KK": pa.array(kk[hh].astype(str)),
            "NAMA_LGKP": pa.array(name, pa.string()),
            "JENIS_KLMIN": pa.array(np.where(p.sex_female, "PEREMPUAN", "LAKI-LAKI")),
            "TMPT_LHR": pa.array(
                np.array(district_names, dtype=object)[p.nik_district], pa.string()
            ),
            "TGL_LHR": format_dates(birth, "%d-%m-%Y"),
            "STAT_HBKEL": pa.array(relation, pa.string()),
            "ALAMAT": pa.array(p.hh_address[hh], pa.string()),
            "NO_RT": pa.array(np.char.zfill(p.hh_rt[hh].astype(str), 3)),
            "NO_RW": pa.array(np.char.zfill(p.hh_rw[hh].astype(str), 3)),
            "NO_PROP": pa.array(parts[v, 0]),
            "NO_KAB": pa.array(parts[v, 1]),
            "NO_KEC": pa.array(parts[v, 2]),
            "NO_KEL": pa.array(parts[v, 3]),
            "TGL_MATI": format_dates(died, "%d-%m-%Y"),
        }
    )
    # Exact duplicate rows, as merged extracts have; they sit next to their original.
    dup = np.flatnonzero(rng.random(n) < 0.003)
    order = np.argsort(np.r_[np.arange(n), dup], kind="stable")
    return pa.concat_tables([table, table.take(pa.array(dup))]).take(pa.array(order))


def membership_register(
    rng,
    *,
    as_of_days,
    person,
    p,
    nik,
    kk,
    name,
    age,
    alive,
    inactive,
    hh_segment,
    hh_decile,
    layoff_old,
    hh_employer,
    employer_code,
    employer_gov,
    emigrants,
    villages,
    village_digits,
    district6,
    n_persons,
):
    """The BPJS extract: one row per participant with the noise of a real one."""
    emi_village, emi_nik, emi_kk, emi_name, emi_female, emi_birth = emigrants
    hh = p.household[person]
    n_res = len(person)
    n_emi = len(emi_village)
    total = n_res + n_emi

    segment = np.r_[hh_segment[hh], rng.choice([PBPU, PBPU, PBI_APBN, PPU], n_emi)]
    decile = np.r_[hh_decile[hh], rng.integers(3, 9, n_emi)]
    is_alive = np.r_[alive[person], np.ones(n_emi, bool)]
    is_inactive = np.r_[inactive[person], rng.random(n_emi) < 0.5]
    # The deceased: some still active on the card ("still listed"), others closed.
    dead = ~is_alive
    dead_closed = dead & (rng.random(total) < 0.45)
    is_inactive = np.where(dead, dead_closed, is_inactive)
    old_layoff = np.r_[layoff_old[hh], np.zeros(n_emi, bool)]
    reason = np.select(
        [
            ~is_inactive,
            dead,
            segment == PBPU,
            (segment == PBI_APBN) | (segment == PBI_APBD),
            (segment == PPU) & old_layoff,
        ],
        [None, "DECEASED", "ARREARS", "PBI_DEACTIVATED", "LAYOFF_ENDED"],
        "OTHER",
    )
    klass = np.select(
        [segment <= PBI_APBD, segment == PPU, segment == BP],
        [3, np.where(decile >= 7, 1, 2), rng.choice([1, 2], total)],
        rng.choice([3, 3, 3, 2, 2, 1], total),
    )
    arrears = reason == "ARREARS"
    months = np.where(arrears, np.minimum(1 + rng.geometric(0.12, total), 60), 0)
    amount = months * np.vectorize(PREMIUM.get)(klass)

    employer = np.r_[hh_employer[hh], np.full(n_emi, -1)]
    has_employer = (segment == PPU) & (employer >= 0)
    gov = has_employer & employer_gov[np.maximum(employer, 0)]
    seg_text = np.array(
        [
            SEGMENT_TEXT[s][k % len(SEGMENT_TEXT[s])]
            for s, k in zip(segment, rng.integers(0, 6, total), strict=True)
        ],
        dtype=object,
    )
    seg_text[gov] = PPU_PN_TEXT

    village = np.r_[p.hh_village[hh], emi_village]
    # Some participants' BPJS address is another village of the same district.
    moved = rng.random(total) < 0.03
    same_district = [np.flatnonzero(villages.district == d) for d in range(len(district6))]
    for i in np.flatnonzero(moved):
        options = same_district[villages.district[village[i]]]
        options = options[options != village[i]]
        if len(options):
            village[i] = options[rng.integers(0, len(options))]
        else:
            moved[i] = False
    faskes = np.array(
        [
            f"{district6[villages.district[v]] % 10000:04d}{k:04d}"
            for v, k in zip(village, rng.integers(1, 4, total), strict=True)
        ]
    )

    true_nik = np.r_[nik[person], emi_nik].astype(str)
    recorded_nik = true_nik.astype(object)
    u = rng.random(total)
    typo_rows = np.flatnonzero(u < 0.02)
    blank_rows = np.flatnonzero((u >= 0.02) & (u < 0.035))
    for i in typo_rows:
        recorded_nik[i] = nik_typo(true_nik[i], rng)
    recorded_nik[blank_rows] = None

    female = np.r_[p.sex_female[person], emi_female]
    ages = np.r_[age[person], (as_of_days - emi_birth) / 365.25]
    recorded_name = np.r_[name[person], emi_name].astype(object)
    variant_rows = np.flatnonzero(rng.random(total) < 0.1)
    for i in variant_rows:
        recorded_name[i] = name_variant(recorded_name[i], rng, bool(female[i]), float(ages[i]))
    birth = np.r_[p.birth_days[person], emi_birth]
    shifted = rng.random(total) < 0.01
    birth = birth + shifted * rng.choice([-1, 1], total)

    noka_number = (np.arange(total, dtype=np.int64) * 7_919_113 + 1_234_567) % 9_000_000_000
    noka = np.char.zfill((1_000_000_000 + noka_number).astype(str), 13)
    noka = noka[rng.permutation(total)]

    table = pa.table(
        {
            "NOKA": pa.array(noka),
            "NIK": pa.array(recorded_nik, pa.string()),
            "NAMA": pa.array(recorded_name, pa.string()),
            "JENIS_KELAMIN": pa.array(np.where(female, "P", "L")),
            "TGL_LAHIR": format_dates(pa.array(birth.astype(np.int32), pa.date32()), "%d/%m/%Y"),
            "NO_KK": pa.array(np.r_[kk[hh], emi_kk].astype(str)),
            "SEGMEN": pa.array(seg_text, pa.string()),
            "KELAS": pa.array(klass, pa.int8()),
            "STATUS_PESERTA": pa.array(np.where(is_inactive, "NONAKTIF", "AKTIF")),
            "KETERANGAN_NONAKTIF": pa.array(reason, pa.string()),
            "BULAN_TUNGGAK": pa.array(months, pa.int32(), mask=~arrears),
            "JML_TUNGGAKAN": pa.array(amount, pa.int64(), mask=~arrears),
            "KODE_BADAN_USAHA": pa.array(
                np.where(has_employer, employer_code[np.maximum(employer, 0)], None), pa.string()
            ),
            "KD_PPK": pa.array(faskes),
            "KODE_DESA": pa.array(village_digits[village]),
        }
    )
    dup = np.flatnonzero(rng.random(total) < 0.003)
    order = np.argsort(np.r_[np.arange(total), dup], kind="stable")
    table = pa.concat_tables([table, table.take(pa.array(dup))]).take(pa.array(order))

    kind = np.r_[np.where(alive[person], "resident", "deceased"), np.full(n_emi, "emigrant")]
    nik_noise = np.full(total, None, dtype=object)
    nik_noise[typo_rows] = "typo"
    nik_noise[blank_rows] = "blank"
    truth = pa.table(
        {
            "noka": pa.array(noka),
            "true_nik": pa.array(true_nik),
            "kind": pa.array(kind),
            "status": pa.array(np.where(is_inactive, "INACTIVE", "ACTIVE")),
            "nik_noise": pa.array(nik_noise, pa.string()),
            "name_variant": pa.array(np.isin(np.arange(total), variant_rows)),
            "other_village": pa.array(moved),
            "duplicated": pa.array(np.isin(np.arange(total), dup)),
        }
    )
    noka_of_person = np.full(n_persons, None, dtype=object)
    noka_of_person[person] = noka[:n_res]
    return table, truth, noka_of_person

"""Province Jambi's villages from the built-in Kemendagri list, and how many residents, covered
and active, each one is given (the calibrated villages and regencies exact)."""

from dataclasses import dataclass

import numpy as np

from pesiar.demo.generator import calibration as cal
from pesiar.regions import builtin
from pesiar.regions.codes import ancestors, is_within


@dataclass
class Villages:
    code: np.ndarray  # dotted
    name: np.ndarray
    district: np.ndarray  # index into districts
    regency: np.ndarray  # index into cal.REGENCIES
    urban: np.ndarray  # kelurahan or city


def jambi_villages() -> tuple[Villages, np.ndarray, list[str]]:
    rows = sorted(r for r in builtin.rows(4) if is_within(r.code, cal.PROVINCE))
    districts = sorted(r.code for r in builtin.rows(3) if is_within(r.code, cal.PROVINCE))
    district_index = {code: i for i, code in enumerate(districts)}
    regency_index = {r.code: i for i, r in enumerate(cal.REGENCIES)}
    code = np.array([r.code for r in rows])
    villages = Villages(
        code=code,
        name=np.array([r.name for r in rows], dtype=object),
        district=np.array([district_index[r.parent_code] for r in rows]),
        regency=np.array([regency_index[ancestors(r.code)[1]] for r in rows]),
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

"""The scenario's ground truth: every resident as they really are, and the figures per village
and regency with the report's rounding (checked against the calibrated quotas)."""

import numpy as np
import pyarrow as pa

from pesiar.demo.generator import calibration as cal
from pesiar.demo.generator.draw import World
from pesiar.demo.generator.segments import SEGMENTS
from pesiar.regions import builtin


def residents_truth(w: World) -> pa.Table:
    """One row per resident (living or dead): status, card, segment, lists and work."""
    p, hh, alive = w.p, w.hh, w.alive
    registered, inactive, dead_listed = w.registered, w.inactive, w.dead_listed
    status = np.where(
        ~alive,
        "DECEASED",
        np.where(inactive, "INACTIVE", np.where(registered, "ACTIVE", "NOT_REGISTERED")),
    )
    is_worker = np.zeros(w.n, dtype=bool)
    is_worker[w.worker[w.formal]] = True
    laid_off = is_worker & w.laid_off[hh]
    return pa.table(
        {
            "nik": pa.array(w.nik.astype(str)),
            "kk": pa.array(w.kk[hh].astype(str)),
            "village_code": w.code_arr.take(pa.array(w.person_village)),
            "sex": pa.array(np.where(p.sex_female, "P", "L")),
            "birth_date": pa.array(p.birth_days.astype(np.int32), pa.date32()),
            "twin_nik": pa.array(
                np.where(p.twin >= 0, w.nik[p.twin].astype(str), None), pa.string()
            ),
            "alive": pa.array(alive),
            "status": pa.array(status),
            "noka": pa.array(w.noka_of_person, pa.string()),
            "segment": pa.array(
                np.where(registered | dead_listed, SEGMENTS[w.hh_segment[hh]], None), pa.string()
            ),
            "decile": pa.array(w.hh_decile[hh], pa.int8()),
            "in_welfare_list": pa.array(w.in_welfare_hh[hh]),
            "formal_worker": pa.array(is_worker),
            "employer_code": pa.array(
                np.where(is_worker, w.employer_code[np.maximum(w.hh_employer[hh], 0)], None),
                pa.string(),
            ),
            "ppu_enrolled": pa.array(is_worker & w.ppu_enrolled[hh]),
            "layoff_date": pa.array(
                np.where(laid_off, w.layoff_days[hh], 0).astype(np.int32),
                pa.date32(),
                mask=~laid_off,
            ),
            "stunted": pa.array(w.stunted),
            "pregnant": pa.array(w.pregnant),
        }
    )


def region_truths(w: World) -> tuple[pa.Table, pa.Table]:
    """The figures per village and per regency; the drawn world must meet the quotas."""
    villages, n_v, person_village = w.villages, w.n_v, w.person_village
    v_registered = np.bincount(person_village, weights=w.registered, minlength=n_v).astype(int)
    v_active = np.bincount(
        person_village, weights=w.registered & ~w.inactive, minlength=n_v
    ).astype(int)
    v_population = np.bincount(person_village, weights=w.alive, minlength=n_v).astype(int)
    assert (v_population == w.village_pop).all() and (v_active == w.active_quota).all()
    assert (v_registered == w.registered_quota).all()
    by_village = truth_table(villages.code, villages.name, v_population, v_registered, v_active)
    r_codes = np.array([r.code for r in cal.REGENCIES])
    r_names = np.array([next(x.name for x in builtin.rows(2) if x.code == c) for c in r_codes])
    by_regency = truth_table(
        r_codes,
        r_names,
        np.bincount(villages.regency, v_population),
        np.bincount(villages.regency, v_registered),
        np.bincount(villages.regency, v_active),
    )
    return by_village, by_regency


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

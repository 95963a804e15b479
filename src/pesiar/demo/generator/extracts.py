"""The registers as the source agencies hand them over: Dukcapil's population extract, BPJS's
membership extract (with the noise of a real one), and the social lists (welfare, stunting,
pregnancy, layoffs, workers), each in its agency's column names and file format."""

from types import SimpleNamespace

import numpy as np
import pyarrow as pa

from pesiar.demo.generator.draw import World
from pesiar.demo.generator.files import format_dates
from pesiar.demo.generator.noise import name_variant, nik_typo
from pesiar.demo.generator.people import ROLE_NAMES, ROLE_SPOUSE
from pesiar.demo.generator.segments import (
    BP,
    PBI_APBD,
    PBI_APBN,
    PBPU,
    PPU,
    PPU_PN_TEXT,
    PREMIUM,
    SEGMENT_TEXT,
)
from pesiar.registers.vocabulary import InactiveReason as Reason


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


class Members(SimpleNamespace):
    """The membership extract's rows as they are drawn: the residents' cards (`person`), then
    the emigrants'; each step adds its arrays of one value per row."""


def membership_register(rng, w: World, person: np.ndarray):
    """The BPJS extract: one row per participant with the noise of a real one. Returns the
    table, the participants' truth, and each person's card number (None without one)."""
    m = Members(person=person, hh=w.p.household[person], n_res=len(person))
    m.n_emi = len(w.emi_village)
    m.total = m.n_res + m.n_emi
    _statuses(rng, w, m)
    _employers_and_places(rng, w, m)
    _recorded_identity(rng, w, m)
    noka_number = (np.arange(m.total, dtype=np.int64) * 7_919_113 + 1_234_567) % 9_000_000_000
    m.noka = np.char.zfill((1_000_000_000 + noka_number).astype(str), 13)
    m.noka = m.noka[rng.permutation(m.total)]
    table = _membership_table(rng, w, m)
    noka_of_person = np.full(w.n, None, dtype=object)
    noka_of_person[person] = m.noka[: m.n_res]
    return table, _participants_truth(w, m), noka_of_person


def _statuses(rng, w: World, m: Members) -> None:
    """Segment, class, active or not and why, and the arrears of the self-payers."""
    hh, n_emi, total, person = m.hh, m.n_emi, m.total, m.person
    m.segment = segment = np.r_[w.hh_segment[hh], rng.choice([PBPU, PBPU, PBI_APBN, PPU], n_emi)]
    decile = np.r_[w.hh_decile[hh], rng.integers(3, 9, n_emi)]
    is_alive = np.r_[w.alive[person], np.ones(n_emi, bool)]
    is_inactive = np.r_[w.inactive[person], rng.random(n_emi) < 0.5]
    # The deceased: some still active on the card ("still listed"), others closed.
    dead = ~is_alive
    dead_closed = dead & (rng.random(total) < 0.45)
    m.is_inactive = np.where(dead, dead_closed, is_inactive)
    old_layoff = np.r_[w.layoff_old[hh], np.zeros(n_emi, bool)]
    m.reason = np.select(
        [
            ~m.is_inactive,
            dead,
            segment == PBPU,
            (segment == PBI_APBN) | (segment == PBI_APBD),
            (segment == PPU) & old_layoff,
        ],
        [
            None,
            Reason.DECEASED.value,
            Reason.ARREARS.value,
            Reason.PBI_DEACTIVATED.value,
            Reason.LAYOFF_ENDED.value,
        ],
        Reason.OTHER.value,
    )
    m.klass = np.select(
        [segment <= PBI_APBD, segment == PPU, segment == BP],
        [3, np.where(decile >= 7, 1, 2), rng.choice([1, 2], total)],
        rng.choice([3, 3, 3, 2, 2, 1], total),
    )
    m.arrears = m.reason == Reason.ARREARS
    m.months = np.where(m.arrears, np.minimum(1 + rng.geometric(0.12, total), 60), 0)
    m.amount = m.months * np.vectorize(PREMIUM.get)(m.klass)


def _employers_and_places(rng, w: World, m: Members) -> None:
    """The employer of the wage earners, the segment as the extract spells it, the village of
    the participant's BPJS address (a few another of the same district) and the faskes."""
    villages, district6, total = w.villages, w.district6, m.total
    m.employer = np.r_[w.hh_employer[m.hh], np.full(m.n_emi, -1)]
    m.has_employer = (m.segment == PPU) & (m.employer >= 0)
    gov = m.has_employer & w.employer_gov[np.maximum(m.employer, 0)]
    m.seg_text = np.array(
        [
            SEGMENT_TEXT[s][k % len(SEGMENT_TEXT[s])]
            for s, k in zip(m.segment, rng.integers(0, 6, total), strict=True)
        ],
        dtype=object,
    )
    m.seg_text[gov] = PPU_PN_TEXT

    m.village = village = np.r_[w.p.hh_village[m.hh], w.emi_village]
    # Some participants' BPJS address is another village of the same district.
    m.moved = moved = rng.random(total) < 0.03
    same_district = [np.flatnonzero(villages.district == d) for d in range(len(district6))]
    for i in np.flatnonzero(moved):
        options = same_district[villages.district[village[i]]]
        options = options[options != village[i]]
        if len(options):
            village[i] = options[rng.integers(0, len(options))]
        else:
            moved[i] = False
    m.faskes = np.array(
        [
            f"{district6[villages.district[v]] % 10000:04d}{k:04d}"
            for v, k in zip(village, rng.integers(1, 4, total), strict=True)
        ]
    )


def _recorded_identity(rng, w: World, m: Members) -> None:
    """NIK, name and birth date as BPJS recorded them: typos, blanks, variants, shifts."""
    person, total = m.person, m.total
    m.true_nik = np.r_[w.nik[person], w.emi_nik].astype(str)
    m.recorded_nik = m.true_nik.astype(object)
    u = rng.random(total)
    m.typo_rows = np.flatnonzero(u < 0.02)
    m.blank_rows = np.flatnonzero((u >= 0.02) & (u < 0.035))
    for i in m.typo_rows:
        m.recorded_nik[i] = nik_typo(m.true_nik[i], rng)
    m.recorded_nik[m.blank_rows] = None

    m.female = female = np.r_[w.p.sex_female[person], w.emi_female]
    ages = np.r_[w.age[person], (w.as_of_days - w.emi_birth) / 365.25]
    m.recorded_name = np.r_[w.name[person], w.emi_name].astype(object)
    m.variant_rows = np.flatnonzero(rng.random(total) < 0.1)
    for i in m.variant_rows:
        m.recorded_name[i] = name_variant(m.recorded_name[i], rng, bool(female[i]), float(ages[i]))
    birth = np.r_[w.p.birth_days[person], w.emi_birth]
    shifted = rng.random(total) < 0.01
    m.birth = birth + shifted * rng.choice([-1, 1], total)


def _membership_table(rng, w: World, m: Members) -> pa.Table:
    """The extract in BPJS column names, with exact duplicate rows beside their original."""
    table = pa.table(
        {
            "NOKA": pa.array(m.noka),
            "NIK": pa.array(m.recorded_nik, pa.string()),
            "NAMA": pa.array(m.recorded_name, pa.string()),
            "JENIS_KELAMIN": pa.array(np.where(m.female, "P", "L")),
            "TGL_LAHIR": format_dates(pa.array(m.birth.astype(np.int32), pa.date32()), "%d/%m/%Y"),
            "NO_KK": pa.array(np.r_[w.kk[m.hh], w.emi_kk].astype(str)),
            "SEGMEN": pa.array(m.seg_text, pa.string()),
            "KELAS": pa.array(m.klass, pa.int8()),
            "STATUS_PESERTA": pa.array(np.where(m.is_inactive, "NONAKTIF", "AKTIF")),
            "KETERANGAN_NONAKTIF": pa.array(m.reason, pa.string()),
            "BULAN_TUNGGAK": pa.array(m.months, pa.int32(), mask=~m.arrears),
            "JML_TUNGGAKAN": pa.array(m.amount, pa.int64(), mask=~m.arrears),
            "KODE_BADAN_USAHA": pa.array(
                np.where(m.has_employer, w.employer_code[np.maximum(m.employer, 0)], None),
                pa.string(),
            ),
            "KD_PPK": pa.array(m.faskes),
            "KODE_DESA": pa.array(w.village_digits[m.village]),
        }
    )
    m.dup = dup = np.flatnonzero(rng.random(m.total) < 0.003)
    order = np.argsort(np.r_[np.arange(m.total), dup], kind="stable")
    return pa.concat_tables([table, table.take(pa.array(dup))]).take(pa.array(order))


def _participants_truth(w: World, m: Members) -> pa.Table:
    """Per card: the true NIK, who holds it (resident, deceased, emigrant) and its noise."""
    kind = np.r_[np.where(w.alive[m.person], "resident", "deceased"), np.full(m.n_emi, "emigrant")]
    nik_noise = np.full(m.total, None, dtype=object)
    nik_noise[m.typo_rows] = "typo"
    nik_noise[m.blank_rows] = "blank"
    return pa.table(
        {
            "noka": pa.array(m.noka),
            "true_nik": pa.array(m.true_nik),
            "kind": pa.array(kind),
            "status": pa.array(np.where(m.is_inactive, "INACTIVE", "ACTIVE")),
            "nik_noise": pa.array(nik_noise, pa.string()),
            "name_variant": pa.array(np.isin(np.arange(m.total), m.variant_rows)),
            "other_village": pa.array(m.moved),
            "duplicated": pa.array(np.isin(np.arange(m.total), m.dup)),
        }
    )


def social_lists(rng, w: World) -> dict[str, pa.Table]:
    """The welfare, stunting, pregnancy, layoff and worker lists, by register kind."""
    nik, name, hh, code_arr = w.nik, w.name, w.hh, w.code_arr
    listed = np.flatnonzero(w.in_welfare_hh[hh])
    welfare = pa.table(
        {
            "nik": pa.array(nik[listed].astype(str)),
            "kk": pa.array(w.kk[hh[listed]].astype(str)),
            "decile": pa.array(w.hh_decile[hh[listed]], pa.int8()),
            "village_code": code_arr.take(pa.array(w.person_village[listed])),
        }
    )
    moms = np.flatnonzero(w.pregnant)
    pregnancy = pa.table(
        {
            "nik": pa.array(nik[moms].astype(str)),
            "name": pa.array(name[moms], pa.string()),
            "expected_delivery_date": format_dates(
                pa.array(
                    (w.as_of_days + rng.integers(7, 270, len(moms))).astype(np.int32), pa.date32()
                ),
                "%Y-%m-%d",
            ),
            "village_code": code_arr.take(pa.array(w.person_village[moms])),
        }
    )
    fired = np.flatnonzero(w.laid_off)
    layoffs = pa.table(
        {
            "nik": pa.array(nik[w.worker[fired]].astype(str)),
            "name": pa.array(name[w.worker[fired]], pa.string()),
            "employer_code": pa.array(w.employer_code[w.hh_employer[fired]]),
            "layoff_date": format_dates(
                pa.array(w.layoff_days[fired].astype(np.int32), pa.date32()), "%d/%m/%Y"
            ),
        }
    )
    employed = np.flatnonzero(w.formal & ~w.laid_off)
    workers = pa.table(
        {
            "nik": pa.array(nik[w.worker[employed]].astype(str)),
            "name": pa.array(name[w.worker[employed]], pa.string()),
            "employer_code": pa.array(w.employer_code[w.hh_employer[employed]]),
            "employer_name": pa.array(w.employer_name[w.hh_employer[employed]]),
        }
    )
    return {
        "welfare": welfare,
        "stunting": stunting_list(w),
        "pregnancy": pregnancy,
        "layoffs": layoffs,
        "workers": workers,
    }


def stunting_list(w: World) -> pa.Table:
    """Stunted children and newborns without a NIK, with their mother's NIK where known."""
    p, nik, name, hh, code_arr = w.p, w.nik, w.name, w.hh, w.code_arr
    kids = np.flatnonzero(w.stunted)
    kid_mother = w.hh_mother[hh[kids]]
    nb_hh = hh[w.newborn_mother]
    return pa.table(
        {
            "child_nik": pa.array(
                list(nik[kids].astype(str)) + [None] * len(w.newborn_mother), pa.string()
            ),
            "child_name": pa.array(list(name[kids]) + list(w.nb_name), pa.string()),
            "birth_date": pa.array(
                np.r_[p.birth_days[kids], w.nb_birth].astype(np.int32), pa.date32()
            ),
            "sex": pa.array(np.where(np.r_[p.sex_female[kids], w.nb_female], "P", "L")),
            "mother_nik": pa.array(
                [str(nik[k]) if k >= 0 else None for k in kid_mother]
                + [str(x) for x in nik[w.newborn_mother]],
                pa.string(),
            ),
            "kk": pa.array(np.r_[w.kk[hh[kids]], w.kk[nb_hh]].astype(str)),
            "village_code": code_arr.take(
                pa.array(np.r_[w.person_village[kids], w.person_village[w.newborn_mother]])
            ),
        }
    )

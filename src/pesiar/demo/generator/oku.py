"""The OKU Selatan scenario: Kabupaten Ogan Komering Ulu Selatan (16.09) month by month, with a
campaign on the five launch villages and the effect it had, known exactly.

`generate_oku(population, seed, out_dir)` writes, for each monthly date, a Dukcapil population
extract and a BPJS membership extract in the formats of the Jambi scenario
(`<date>/population.csv`, `<date>/membership.csv`), and the truth beside them:

- `truth/villages.csv`: per village and date, residents, registered and active, and for the focus
  villages the people registered because of the campaign (`effect_registered`);
- `truth/effect.csv`: per focus village, the effect at the last date in people and points;
- `truth/agent_registrations.csv`: every family an agent submitted, the month, the people, and
  whether the next membership snapshot shows them (`confirmed`).

How it runs. On the first date each village has its own coverage and activity; every month some
families register on their own (a rate of the village's own), some inactive members pay and
become active, a few self-paying ones fall into arrears. From the campaign's start the agents of
the focus villages also register families who had not registered on their own; most show up in
the next membership snapshot, some do not. The same random draws decide what each family would
have done without the campaign, so the campaign's effect is counted, not estimated.
"""

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from pesiar.demo.generator.extracts import population_register
from pesiar.demo.generator.files import format_dates, write_csv
from pesiar.demo.generator.people import (
    build_households,
    dates_to_days,
    ddmmyy,
    make_names,
    numbers_with_serial,
)
from pesiar.demo.generator.segments import (
    BP,
    PBI_APBD,
    PBI_APBN,
    PBPU,
    PPU,
    PREMIUM,
    SEGMENT_TEXT,
)
from pesiar.demo.generator.villages import Villages
from pesiar.regions import builtin
from pesiar.regions.codes import is_within
from pesiar.registers.vocabulary import InactiveReason as Reason

REGENCY = "16.09"
# The five launch villages of the programme (Tanjung Sari is the one in Simpang).
FOCUS_VILLAGES = (
    "16.09.09.2010",  # Kembang Tinggi, Buay Pemaca
    "16.09.09.2007",  # Karet Jaya, Buay Pemaca
    "16.09.12.2021",  # Pakhda Suka, Buay Pematang Ribu Ranau Tengah
    "16.09.05.2008",  # Tanjung Sari, Simpang
    "16.09.12.2005",  # Hangkusa, Buay Pematang Ribu Ranau Tengah
)
DATES = (date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1), date(2024, 7, 1))
CAMPAIGN_NAME = "Desa Fokus Pesiar OKU Selatan 2024"
# Share of the families still unregistered that a focus village's agents register each month.
DEFAULT_AGENT_RATE = 0.4
# How much larger than the others the focus villages are drawn.
FOCUS_SIZE = 4.0
# Share of the agents' submissions no membership snapshot ever shows.
UNCONFIRMED_SHARE = 0.15


@dataclass
class OkuScenario:
    """What `generate_oku` wrote, as recorded in scenario.json beside the files."""

    out_dir: Path
    population: int
    seed: int
    dates: list[date]
    campaign_start: date
    agent_rate: float
    focus: list[str] = field(default_factory=lambda: list(FOCUS_VILLAGES))
    rows: dict[str, int] = field(default_factory=dict)

    def path(self, kind: str, as_of: date) -> Path:
        return self.out_dir / as_of.isoformat() / f"{kind}.csv"

    def truth_path(self, name: str) -> Path:
        return self.out_dir / "truth" / f"{name}.csv"

    def to_json(self) -> str:
        data = asdict(self)
        data["out_dir"] = None
        data["dates"] = [d.isoformat() for d in self.dates]
        data["campaign_start"] = self.campaign_start.isoformat()
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, out_dir: Path) -> "OkuScenario":
        data = json.loads((out_dir / "scenario.json").read_text())
        data["out_dir"] = out_dir
        data["dates"] = [date.fromisoformat(d) for d in data["dates"]]
        data["campaign_start"] = date.fromisoformat(data["campaign_start"])
        return cls(**data)


def oku_villages() -> tuple[Villages, np.ndarray, list[str]]:
    """The regency's villages from the built-in Kemendagri list."""
    rows = sorted(r for r in builtin.rows(4) if is_within(r.code, REGENCY))
    districts = sorted(r.code for r in builtin.rows(3) if is_within(r.code, REGENCY))
    index = {code: i for i, code in enumerate(districts)}
    villages = Villages(
        code=np.array([r.code for r in rows]),
        name=np.array([r.name for r in rows], dtype=object),
        district=np.array([index[r.parent_code] for r in rows]),
        regency=np.zeros(len(rows), dtype=np.int64),
        urban=np.array([r.code[9] == "1" for r in rows]),
    )
    district6 = np.array([int(c.replace(".", "")) for c in districts], dtype=np.int64)
    names = [next(r.name for r in builtin.rows(3) if r.code == c).upper() for c in districts]
    return villages, district6, names


def generate_oku(
    population: int,
    seed: int,
    out_dir: Path,
    *,
    dates: tuple[date, ...] = DATES,
    agent_rate: float = DEFAULT_AGENT_RATE,
) -> OkuScenario:
    """Write the OKU Selatan registers for every date in `dates` (at least three) and the truth;
    the campaign starts on the second date. `agent_rate=0` is a campaign with no effect."""
    if len(dates) < 3:
        raise ValueError("the OKU Selatan scenario needs at least three dates")
    if population < 5_000:
        raise ValueError("--population must be at least 5,000 for OKU Selatan")
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "truth").mkdir(exist_ok=True)
    villages, district6, district_names = oku_villages()
    n_v = len(villages.code)
    focus = np.isin(villages.code, FOCUS_VILLAGES)
    # The launch villages are among the larger ones, and somewhat behind on coverage.
    weight = rng.lognormal(0.0, 0.5, n_v) * np.where(focus, FOCUS_SIZE, 1.0)
    village_pop = np.maximum(40, np.round(population * weight / weight.sum())).astype(np.int64)
    p = build_households(
        rng, village_pop, villages.district, villages.urban, len(district6), dates[0]
    )
    n, hh = len(p), p.household
    n_hh = len(p.hh_size)
    hh_v = p.hh_village
    nik = numbers_with_serial(district6[p.nik_district], ddmmyy(p.birth_days, p.sex_female))
    kk = numbers_with_serial(
        district6[villages.district[hh_v]],
        ddmmyy(rng.integers(dates_to_days(date(2010, 1, 1)), dates_to_days(dates[0]), n_hh), None),
    )
    name = make_names(rng, p.sex_female)

    fam = first_date(rng, focus, hh_v, n_v)
    agent_of = {code: f"agen-{i + 1}" for i, code in enumerate(FOCUS_VILLAGES)}
    # Common random numbers: the same draws decide the family's month with and without agents.
    draws = Draws(*(rng.random((len(dates), n_hh)) for _ in range(2)), rng.random(n_hh),
                  *(rng.random((len(dates), n_hh)) for _ in range(2)))  # fmt: skip
    submissions: list[tuple[int, int, bool]] = []
    truth_rows: list[tuple] = []
    population_table = population_register(
        rng, p, villages, nik, kk, name, np.ones(n, bool), np.zeros(n, np.int64), district_names
    )
    members_total = 0
    for t, as_of in enumerate(dates):
        if t > 0:
            submissions += fam.advance(t, draws, focus[hh_v], agent_rate)
        folder = out_dir / as_of.isoformat()
        folder.mkdir(exist_ok=True)
        write_csv(population_table, folder / "population.csv", delimiter=";")
        table = membership_table(p, villages, nik, kk, name, fam, district6)
        members_total += table.num_rows
        write_csv(table, folder / "membership.csv")
        truth_rows += village_truth(as_of, villages, focus, hh_v[hh], fam, hh)
    _write_truth(out_dir, villages, dates, truth_rows, submissions, p, nik, kk, agent_of)
    scenario = OkuScenario(
        out_dir=out_dir,
        population=population,
        seed=seed,
        dates=list(dates),
        campaign_start=dates[1],
        agent_rate=agent_rate,
        rows={"population": population_table.num_rows, "membership": members_total},
    )
    (out_dir / "scenario.json").write_text(scenario.to_json())
    return scenario


@dataclass
class Draws:
    """Uniform draws per date and family (and one per family for confirmation)."""

    own: np.ndarray  # registers on its own this month
    agent: np.ndarray  # the agents reach it this month
    confirm: np.ndarray  # the agents' submission shows up in the next snapshot
    pays: np.ndarray  # an inactive member pays and becomes active
    lapse: np.ndarray  # a self-paying member falls into arrears


@dataclass
class Families:
    """Each family's state on the current date, and what it would be without the campaign."""

    registered: np.ndarray
    active: np.ndarray
    segment: np.ndarray
    arrears: np.ndarray
    growth: np.ndarray  # per family: its village's monthly rate of registering on its own
    counterfactual: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    by_agent: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    never: np.ndarray = field(default_factory=lambda: np.empty(0, bool))

    def __post_init__(self) -> None:
        self.counterfactual = self.registered.copy()
        self.by_agent = np.zeros(len(self.registered), dtype=bool)
        # submitted by an agent, not in the next snapshot
        self.never = np.zeros(len(self.registered), dtype=bool)

    def advance(self, t: int, d: Draws, in_focus: np.ndarray, agent_rate: float) -> list:
        """One month up to date `t`; returns the agents' submissions (t, family, shown)."""
        own = d.own[t] < self.growth
        self.counterfactual |= own
        newly_own = ~self.registered & own
        self.registered |= newly_own
        self.active |= newly_own
        submissions = []
        if t >= 2:  # the agents' month between dates t-1 and t (from the campaign's start)
            picked = in_focus & ~self.registered & ~self.never & (d.agent[t] < agent_rate)
            shown = picked & (d.confirm >= UNCONFIRMED_SHARE)
            self.never |= picked & ~shown
            submissions = [(t, int(h), bool(shown[h])) for h in np.flatnonzero(picked)]
            self.registered |= shown
            self.active |= shown
            self.by_agent |= shown
        pays = self.registered & ~self.active & (d.pays[t] < 0.04)
        self.active |= pays
        self.arrears[pays] = 0
        lapses = self.active & (self.segment == PBPU) & (d.lapse[t] < 0.01)
        self.active &= ~lapses
        self.arrears[lapses] = 1
        self.arrears[self.registered & ~self.active & ~lapses] += 1
        return submissions


def first_date(rng, focus: np.ndarray, hh_v: np.ndarray, n_v: int) -> Families:
    """The first date: coverage, activity and segments per family, village by village."""
    n_hh = len(hh_v)
    v_cov = np.clip(rng.normal(0.80, 0.07, n_v) - np.where(focus, 0.05, 0), 0.5, 0.97)
    v_act = np.clip(rng.normal(0.75, 0.08, n_v), 0.45, 0.95)
    v_pbi = np.clip(rng.normal(0.55, 0.12, n_v), 0.2, 0.85)
    v_growth = np.clip(rng.normal(0.05, 0.02, n_v), 0.005, 0.12)
    registered = rng.random(n_hh) < v_cov[hh_v]
    active = registered & (rng.random(n_hh) < v_act[hh_v])
    u = rng.random(n_hh)
    pbi = v_pbi[hh_v]
    segment = np.select(
        [u < pbi * 0.75, u < pbi, u < pbi + 0.15, u < 0.97], [PBI_APBN, PBI_APBD, PPU, PBPU], BP
    )
    segment = np.where(registered, segment, PBPU)  # those who register later pay themselves
    arrears = np.where(registered & ~active, 1 + rng.geometric(0.2, n_hh), 0)
    return Families(registered, active, segment, arrears, v_growth[hh_v])


def village_truth(as_of, villages, focus, person_v, fam: Families, hh) -> list[tuple]:
    """Per village on `as_of`: residents, registered, active, and registered by the campaign."""
    n_v = len(villages.code)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(person_v, weights=mask, minlength=n_v).astype(int)

    residents = np.bincount(person_v, minlength=n_v)
    registered, active = count(fam.registered[hh]), count(fam.active[hh])
    effect = count((fam.by_agent & ~fam.counterfactual)[hh])
    return [
        (as_of.isoformat(), villages.code[v], villages.name[v], bool(focus[v]),
         int(residents[v]), int(registered[v]), int(active[v]), int(effect[v]))
        for v in range(n_v)
    ]  # fmt: skip


def membership_table(p, villages, nik, kk, name, fam: "Families", district6) -> pa.Table:
    """The BPJS extract of one date, with the Jambi scenario's columns and formats."""
    hh = p.household
    registered, active = fam.registered[hh], fam.active[hh]
    segment, arrears = fam.segment[hh], fam.arrears[hh]
    person = np.flatnonzero(registered)
    seg = segment[person]
    klass = np.where(seg <= PBI_APBD, 3, np.where(seg == PPU, 2, 3))
    is_active = active[person]
    months = np.where(is_active, 0, np.maximum(arrears[person], 1))
    in_arrears = ~is_active & (seg == PBPU)
    reason = np.where(
        is_active,
        None,
        np.where(
            in_arrears,
            Reason.ARREARS.value,
            np.where(seg <= PBI_APBD, Reason.PBI_DEACTIVATED.value, Reason.OTHER.value),
        ),
    )
    village = p.hh_village[p.household[person]]
    noka = np.char.zfill((1_000_000_000 + person.astype(np.int64) * 7 + 11).astype(str), 13)
    seg_text = np.array([SEGMENT_TEXT[s][0] for s in seg], dtype=object)
    faskes = np.array([f"{district6[villages.district[v]] % 10000:04d}0001" for v in village])
    return pa.table(
        {
            "NOKA": pa.array(noka),
            "NIK": pa.array(nik[person].astype(str)),
            "NAMA": pa.array(name[person], pa.string()),
            "JENIS_KELAMIN": pa.array(np.where(p.sex_female[person], "P", "L")),
            "TGL_LAHIR": format_dates(
                pa.array(p.birth_days[person].astype(np.int32), pa.date32()), "%d/%m/%Y"
            ),
            "NO_KK": pa.array(kk[p.household[person]].astype(str)),
            "SEGMEN": pa.array(seg_text, pa.string()),
            "KELAS": pa.array(klass, pa.int8()),
            "STATUS_PESERTA": pa.array(np.where(is_active, "AKTIF", "NONAKTIF")),
            "KETERANGAN_NONAKTIF": pa.array(reason, pa.string()),
            "BULAN_TUNGGAK": pa.array(months, pa.int32(), mask=~in_arrears),
            "JML_TUNGGAKAN": pa.array(months * PREMIUM[3], pa.int64(), mask=~in_arrears),
            "KODE_BADAN_USAHA": pa.array([None] * len(person), pa.string()),
            "KD_PPK": pa.array(faskes),
            "KODE_DESA": pa.array(np.char.replace(villages.code[village].astype(str), ".", "")),
        }
    )


def _write_truth(out_dir, villages, dates, truth_rows, submissions, p, nik, kk, agent_of) -> None:
    columns = [
        "as_of", "code", "name", "focus", "population", "registered", "active", "effect_registered",
    ]  # fmt: skip
    table = pa.table({c: pa.array([r[i] for r in truth_rows]) for i, c in enumerate(columns)})
    write_csv(table, out_dir / "truth" / "villages.csv")
    last = [r for r in truth_rows if r[0] == dates[-1].isoformat() and r[3]]
    write_csv(
        pa.table(
            {
                "code": pa.array([r[1] for r in last]),
                "name": pa.array([r[2] for r in last]),
                "population": pa.array([r[4] for r in last]),
                "effect_registered": pa.array([r[7] for r in last]),
                "effect_points": pa.array([round(100 * r[7] / r[4], 4) for r in last]),
            }
        ),
        out_dir / "truth" / "effect.csv",
    )
    rows = []
    for t, h, shown in submissions:
        start = int(p.hh_start[h])
        members = range(start, start + int(p.hh_size[h]))
        code = villages.code[p.hh_village[h]]
        month = dates[t - 1]
        rows.append(
            {
                "agent": agent_of[code],
                "village_code": code,
                "kk": str(kk[h]),
                "month": month.strftime("%Y-%m"),
                "submitted_on": date(month.year, month.month, 10 + int(h % 15)).isoformat(),
                "people": len(members),
                "niks": ";".join(str(nik[i]) for i in members),
                "confirmed": shown,
            }
        )
    keys = [
        "agent", "village_code", "kk", "month", "submitted_on", "people", "niks", "confirmed",
    ]  # fmt: skip
    write_csv(
        pa.table({k: pa.array([r[k] for r in rows], _TYPES.get(k, pa.string())) for k in keys}),
        out_dir / "truth" / "agent_registrations.csv",
    )


_TYPES = {"people": pa.int64(), "confirmed": pa.bool_()}

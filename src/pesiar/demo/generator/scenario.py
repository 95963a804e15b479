"""The Jambi scenario: who lives where, who is covered, and the registers that describe them.

`generate` draws the world in named steps (`draw.DRAWING`: households, employers, coverage,
identity numbers, social lists), then writes it in named steps (`WRITING`: the registers as
their agencies hand them over, and the ground truth), telling `progress` the name of each.
"""

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
from pesiar.demo.generator.draw import DRAWING, World, plan
from pesiar.demo.generator.extracts import membership_register, population_register, social_lists
from pesiar.demo.generator.files import write_csv, write_parquet, write_xlsx
from pesiar.demo.generator.truth import region_truths, residents_truth

NOISE_PROFILES = ("default", "hard")

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


def write_population(rng: np.random.Generator, w: World, scenario: Scenario) -> None:
    table = population_register(
        rng, w.p, w.villages, w.nik, w.kk, w.name, w.alive, w.death_days, w.district_names
    )
    write_csv(table, scenario.path("population"), delimiter=";")
    scenario.rows["population"] = table.num_rows


def write_membership(rng: np.random.Generator, w: World, scenario: Scenario) -> None:
    """The membership extract of the residents holding a card (the deceased still listed
    among them) and of the emigrants; the hard profile adds its noise afterwards."""
    members = np.flatnonzero(w.registered | w.dead_listed)
    table, participants, w.noka_of_person = membership_register(rng, w, members)
    if w.noise == "hard":
        paired = np.flatnonzero(w.p.twin >= 0)
        twins = dict(
            zip(w.nik[paired].astype(str), w.nik[w.p.twin[paired]].astype(str), strict=True)
        )
        table, participants = hard.apply(table, participants, w.seed, w.village_digits, twins=twins)
    write_csv(table, scenario.path("membership"))
    write_parquet(participants, scenario.truth_path("participants"))
    scenario.rows["membership"] = table.num_rows


def write_social_lists(rng: np.random.Generator, w: World, scenario: Scenario) -> None:
    tables = social_lists(rng, w)
    for kind, table in tables.items():
        path = scenario.path(kind)
        if kind == "stunting":
            write_xlsx(table, path, sheet="Balita Stunting")
        else:
            write_csv(table, path, delimiter=";" if kind == "pregnancy" else ",")
        scenario.rows[kind] = table.num_rows


def write_truth(rng: np.random.Generator, w: World, scenario: Scenario) -> None:
    write_parquet(residents_truth(w), scenario.truth_path("residents"))
    by_village, by_regency = region_truths(w)
    write_csv(by_village, scenario.truth_path("villages"))
    write_csv(by_regency, scenario.truth_path("regencies"))


WRITING = (
    ("population register", write_population),
    ("membership register", write_membership),
    ("welfare, stunting, pregnancy, layoffs, workers", write_social_lists),
    ("ground truth", write_truth),
)


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
    w = plan(rng, population, as_of)
    for name, draw in DRAWING:
        say(name)
        draw(rng, w)
    scenario = Scenario(out_dir=out_dir, population=population, seed=seed, as_of=as_of)
    w.noise, w.seed = noise, seed
    w.village_digits = np.array([c.replace(".", "") for c in w.villages.code])
    w.code_arr = pa.array(w.villages.code)
    for name, write in WRITING:
        say(name)
        write(rng, w, scenario)
    (out_dir / "scenario.json").write_text(scenario.to_json())
    scenario.seconds = time.perf_counter() - started
    return scenario

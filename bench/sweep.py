"""Sisir benchmark: `pesiar sweep` time and peak memory on a scenario of N residents.

Generates the scenario (or reuses it in --work), imports every register, maps, then runs the
sweep in a child process (peak memory of that process alone) — once on an empty worklist and
once more on the same date (every family kept: the re-sweep path).

Usage: python bench/sweep.py [--sizes 1000000] [--work DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from map import measured

AS_OF = "2024-06-01"
KINDS = ("population", "membership", "welfare", "stunting", "pregnancy", "layoffs", "workers")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pesiar-bench-sweep-"))
    pesiar = [sys.executable, "-m", "pesiar"]
    for size in args.sizes:
        home = work / f"n{size}"
        env = {**os.environ, "PESIAR_DATA_DIR": str(home / "var" / "data")}
        env.pop("DATABASE_URL", None)
        scenario = home / "scenario"

        def run(*command: str, env: dict = env) -> str:
            return subprocess.run(
                [*pesiar, *command], env=env, check=True, capture_output=True, text=True
            ).stdout

        if not (scenario / "scenario.json").exists():
            run("generate", "--population", str(size), "--seed", "1", "--out", str(scenario))
        run("migrate", "-v0")
        run("regions", "load", "--within", "15")
        files = json.loads((scenario / "scenario.json").read_text())["files"]
        for kind in KINDS:
            run("import", kind, str(scenario / files[kind]), "--as-of", AS_OF)
        run("map", "--as-of", AS_OF)
        print(f"sweep, {size:,} residents")
        for label in ("first sweep", "re-sweep"):
            seconds, peak = measured([*pesiar, "sweep", "--as-of", AS_OF], env)
            info = json.loads(
                run(
                    "shell",
                    "-c",
                    "from pesiar.sweep.models import SweepRun; import json;"
                    " r = SweepRun.objects.first();"
                    " print(json.dumps({'counts': r.counts, 'seconds': r.seconds}))",
                )
                .strip()
                .splitlines()[-1]
            )
            c = info["counts"]
            print(
                f"  {label:12} {seconds:7.1f} s, peak {peak:5.2f} GiB  (steps: "
                + ", ".join(f"{k} {v:.1f}" for k, v in info["seconds"].items())
                + f"); families {c['families']:,}, members {c['members']:,}, "
                f"PBI-APBD {c['pbi_people']:,} people, Rp {c['pbi_yearly_cost']:,} a year"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

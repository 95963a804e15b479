"""Campaigns benchmark: the OKU Selatan scenario end to end, and the effect against the truth.

Runs `pesiar demo-oku --population N` on an empty database (generate four monthly dates,
import and map each, the campaign, agents and their registrations, the sweep of the last date)
in a child process (time and peak memory), then times the effect estimate and prints it next
to the injected effect.

Usage: python bench/campaigns.py [--sizes 20000] [--work DIR]
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from map import measured

REPORT = """
import csv, time
from pathlib import Path
from django.conf import settings
from pesiar.campaigns import effect
from pesiar.campaigns.models import Campaign
c = Campaign.objects.unscoped(reason="benchmark").get()
started = time.perf_counter()
e = effect.for_campaign(c, measure="coverage")
seconds = time.perf_counter() - started
truth_file = next(Path(settings.DATA_DIR, "demo").glob("oku-*/truth/effect.csv"))
rows = list(csv.DictReader(truth_file.open()))
truth = sum(float(r["effect_points"]) for r in rows) / len(rows)
people = sum(int(r["effect_registered"]) for r in rows)
print(f"  estimate {seconds:.2f} s: {e.effect_points:.2f} points (95% {e.low:.2f} to {e.high:.2f}),"
      f" about {e.people} people; injected {truth:.2f} points, {people} people;"
      f" {e.candidates} comparison villages")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000])
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pesiar-bench-campaigns-"))
    pesiar = [sys.executable, "-m", "pesiar"]
    for size in args.sizes:
        home = work / f"n{size}"
        env = {**os.environ, "PESIAR_DATA_DIR": str(home / "var" / "data")}
        env.pop("DATABASE_URL", None)
        subprocess.run([*pesiar, "migrate", "-v0"], env=env, check=True)
        seconds, peak = measured([*pesiar, "demo-oku", "--population", str(size)], env)
        print(f"OKU Selatan, {size:,} residents, 4 monthly dates")
        print(f"  demo-oku {seconds:7.1f} s, peak {peak:5.2f} GiB")
        out = subprocess.run(
            [*pesiar, "shell", "-c", REPORT], env=env, check=True, capture_output=True, text=True
        ).stdout
        print(out.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())

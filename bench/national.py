"""National scale, simulated: the map on N provinces, per province in parallel (DuckDB) and as
one Spark job in local mode, with the time and peak memory of each.

The provinces are synthesised from one province scenario (Jambi, `pesiar generate`) by code
remapping: copy k gets province code 15 + k in its village codes, NIKs and KKs, and its own
card numbers (NOKA); its region tree is Jambi's, cloned under the new code. So N provinces
are N times the residents with the same structure, and any growth beyond N times is the
engine's. Every run trains its model (`--retrain`), as a monthly run on new data would.

For each N: (a) DuckDB, N `pesiar map` processes at once, one instance per province: time
is the slowest, memory the sum of the peaks; (b) DuckDB, one process on all N provinces in
one instance; (c) Spark in local mode, one `pesiar map --engine spark` on that instance:
memory is the peak of the largest process (the JVM). The machine's cores are shared by the
parallel processes and by Spark alike (local[2] on a 2-core machine).

Usage: python bench/national.py [--residents 50000] [--provinces 1 2 4] [--master local[2]]
                                [--work DIR]
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = "2024-06-01"
PESIAR = [sys.executable, "-m", "pesiar"]
# The wrapper measures one command: wall seconds and the peak of the summed resident memory
# of the command and all its descendants (sampled every 0.2 s: the JVM Spark starts included).
MEASURE = (
    "import psutil, subprocess, sys, tempfile, time\n"
    "t = time.perf_counter()\n"
    "log = tempfile.TemporaryFile()\n"
    "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=log)\n"
    "root, peak = psutil.Process(p.pid), 0\n"
    "while p.poll() is None:\n"
    "    try:\n"
    "        tree = [root, *root.children(recursive=True)]\n"
    "        peak = max(peak, sum(c.memory_info().rss for c in tree if c.is_running()))\n"
    "    except psutil.Error:\n"
    "        pass\n"
    "    time.sleep(0.2)\n"
    "log.seek(0)\n"
    "err = log.read().decode(errors='replace')\n"
    "dt = time.perf_counter() - t\n"
    "sys.stderr.write(err if p.returncode else '')\n"
    "print(dt, peak // 1024, p.returncode)\n"
)
CLONE_REGIONS = (
    "from pesiar.regions.models import Region\n"
    "codes = {codes!r}\n"
    "jambi = list(Region.objects.within('15').order_by('level', 'code'))\n"
    "for p in codes:\n"
    "    Region.objects.bulk_create([Region(code=p + r.code[2:], name=f'{{r.name}} ({{p}})',"
    " level=r.level, parent_id=r.parent_id and p + r.parent_id[2:]) for r in jambi],"
    " ignore_conflicts=True)\n"
)


def instance(home: Path) -> dict:
    env = {**os.environ, "PESIAR_DATA_DIR": str(home / "data")}
    env.pop("DATABASE_URL", None)
    env.pop("PESIAR_ENGINE", None)
    return env


def pesiar(env: dict, *command: str) -> str:
    return subprocess.run(
        [*PESIAR, *command], env=env, check=True, capture_output=True, text=True
    ).stdout


def remap(base: Path, out: Path, k: int) -> None:
    """Copy k of the base scenario: province 15 + k, card numbers prefixed with k."""
    code = str(15 + k)
    out.mkdir(parents=True, exist_ok=True)
    for name, delimiter, fields in (
        ("population.csv", ";", {"NIK": 2, "NO_KK": 2}),
        ("membership.csv", ",", {"NIK": 2, "NO_KK": 2, "KODE_DESA": 2}),
    ):
        with (base / name).open(newline="") as src, (out / name).open("w", newline="") as dst:
            reader = csv.DictReader(src, delimiter=delimiter)
            writer = csv.DictWriter(
                dst, reader.fieldnames, delimiter=delimiter, quoting=csv.QUOTE_ALL
            )
            writer.writeheader()
            for row in reader:
                for field, width in fields.items():
                    if row[field]:
                        row[field] = code + row[field][width:]
                if "NO_PROP" in row:
                    row["NO_PROP"] = code
                if "NOKA" in row:
                    row["NOKA"] = f"{k:02d}" + row["NOKA"][2:]
                writer.writerow(row)


def combine(files: list[Path], out: Path) -> None:
    with out.open("w") as dst:
        for i, path in enumerate(files):
            lines = path.read_text().splitlines(keepends=True)
            dst.writelines(lines if i == 0 else lines[1:])


def prepare(home: Path, copies: list[Path], ks: list[int]) -> dict:
    """An instance holding the registers of copies `ks` (imported once)."""
    provinces = [copies[k] for k in ks]
    env = instance(home)
    if (home / "imported").exists():
        return env
    pesiar(env, "migrate", "-v0")
    pesiar(env, "regions", "load", "--within", "15")
    codes = [str(15 + k) for k in ks if k]
    if codes:
        pesiar(env, "shell", "-c", CLONE_REGIONS.format(codes=codes))
    for kind in ("population", "membership"):
        source = home / f"{kind}.csv"
        combine([p / f"{kind}.csv" for p in provinces], source)
        pesiar(env, "import", kind, str(source), "--as-of", AS_OF)
    (home / "imported").touch()
    return env


def start_map(env: dict, *options: str) -> subprocess.Popen:
    command = [*PESIAR, "map", "--as-of", AS_OF, "--retrain", *options]
    return subprocess.Popen(
        [sys.executable, "-c", MEASURE, *command], env=env, stdout=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen) -> tuple[float, float]:
    out, _ = process.communicate()
    seconds, peak, code = out.split()
    if code != "0":
        raise SystemExit(f"map failed ({' '.join(process.args[3:])})")
    return float(seconds), int(peak) / 1024**2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=50_000, help="per province")
    parser.add_argument("--provinces", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pesiar-bench-national-"))
    base = work / "base"
    if not (base / "scenario.json").exists():
        pesiar(instance(work / "gen"), "generate", "--population", str(args.residents),
               "--seed", "1", "--out", str(base))  # fmt: skip
    copies = [work / f"province-{k}" for k in range(max(args.provinces))]
    for k, folder in enumerate(copies):
        if not (folder / "membership.csv").exists():
            remap(base, folder, k)
    print(f"national map: {args.residents:,} residents per province, Spark {args.master}, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print(f"{'N':>3} {'residents':>10}  {'engine':<28} {'time s':>8} {'peak GiB':>9}")
    for n in args.provinces:
        singles = [prepare(work / f"single-{k}", copies, [k]) for k in range(n)]
        started = time.perf_counter()
        results = [finish(p) for p in [start_map(env) for env in singles]]
        wall = time.perf_counter() - started
        rows = [
            (f"DuckDB, {n} in parallel", max(wall, *(s for s, _ in results)),
             sum(m for _, m in results)),
        ]  # fmt: skip
        together = prepare(work / f"together-{n}", copies, list(range(n)))
        rows.append(("DuckDB, one process", *finish(start_map(together, "--engine", "duckdb"))))
        spark = ("--engine", "spark", "--spark-master", args.master)
        rows.append((f"Spark {args.master}, one job", *finish(start_map(together, *spark))))
        for label, seconds, peak in rows:
            residents = n * args.residents
            print(f"{n:>3} {residents:>10,}  {label:<28} {seconds:8.1f} {peak:9.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

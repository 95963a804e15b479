"""Time and peak memory of `pesiar import population` at 1M and 10M rows.

Target on a 2-core machine: 10M rows in under 60 s and under 4 GiB.

The 1M file is the scenario generator's population register (1,000,000 residents). The 10M
file is that register ten times over, each copy with its NIK and KK serials moved by
1000 x copy, so that the rows stay distinct people (real extracts do not repeat 10 times).

Usage: python bench/import_population.py [--sizes 1 10] [--work DIR] [--keep]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

AS_OF = "2024-06-01"
TARGET_SECONDS = 60
TARGET_GIB = 4.0


def run(args: list[str], env: dict) -> None:
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)


def measured(args: list[str], env: dict) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (GiB) of one child process, and its last output line."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "dt = time.perf_counter() - t\n"
        "sys.stderr.write(p.stderr)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(dt, peak, p.returncode)\n"
        "print(p.stdout.strip().splitlines()[-1] if p.stdout.strip() else '')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    seconds, peak_kib, rc = out[0].split()
    if rc != "0":
        raise SystemExit(f"import failed with exit code {rc}")
    return float(seconds), int(peak_kib) / 1024**2, out[1] if len(out) > 1 else ""


def make_copies(one: Path, out: Path, copies: int) -> None:
    import duckdb

    parts = " UNION ALL ".join(
        f"""SELECT substr(NIK, 1, 12) || lpad(CAST(CAST(substr(NIK, 13) AS INT) + {1000 * i}
                   AS VARCHAR), 4, '0') AS NIK,
                   substr(NO_KK, 1, 12) || lpad(CAST(CAST(substr(NO_KK, 13) AS INT) + {1000 * i}
                   AS VARCHAR), 4, '0') AS NO_KK,
                   * EXCLUDE (NIK, NO_KK) FROM src"""
        for i in range(copies)
    )
    con = duckdb.connect()
    con.execute(
        f"CREATE VIEW src AS SELECT * FROM read_csv('{one}', delim=';', header=true, "
        "all_varchar=true)"
    )
    con.execute(f"COPY ({parts}) TO '{out}' (HEADER, DELIMITER ';')")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10], help="millions")
    parser.add_argument("--work", type=Path, help="Folder for inputs (default: temporary).")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pesiar-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    pesiar = [sys.executable, "-m", "pesiar"]

    scenario = work / "scenario-1m"
    if not (scenario / "population.csv").exists():
        print("generating the 1M scenario ...", flush=True)
        run(
            [*pesiar, "generate", "--population", "1000000", "--seed", "1", "--out", str(scenario)],
            env,
        )

    ok = True
    for millions in args.sizes:
        if millions == 1:
            path = scenario / "population.csv"
        else:
            path = work / f"population-{millions}m.csv"
            if not path.exists():
                print(f"writing the {millions}M file ...", flush=True)
                make_copies(scenario / "population.csv", path, millions)
        size_gib = path.stat().st_size / 1024**3
        # A fresh instance for every import: a file imported before is recognised and not
        # read again, which would time nothing.
        instance = work / "var" / f"{millions}m"
        shutil.rmtree(instance, ignore_errors=True)
        env["PESIAR_DATA_DIR"] = str(instance / "data")
        run([*pesiar, "migrate", "-v0"], env)
        run([*pesiar, "regions", "load", "--within", "15"], env)
        seconds, peak, last = measured(
            [*pesiar, "import", "population", str(path), "--as-of", AS_OF, "--json"], env
        )
        if not last.startswith("{"):
            raise SystemExit(f"the import printed no summary: {last!r}")
        rows = json.loads(last)["rows_read"]
        within = millions < 10 or (seconds < TARGET_SECONDS and peak < TARGET_GIB)
        ok = ok and within
        print(f"import population {millions}M ({rows:,} rows, {size_gib:.2f} GiB CSV)")
        print(f"  time        {seconds:8.1f} s    ({rows / seconds:,.0f} rows/s)")
        print(f"  peak memory {peak:8.2f} GiB")
        if millions >= 10:
            print(
                f"  target      < {TARGET_SECONDS} s and < {TARGET_GIB} GiB: "
                + ("met" if within else "NOT MET")
            )
    if not args.keep and args.work is None:
        shutil.rmtree(work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

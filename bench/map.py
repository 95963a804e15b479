"""Petakan benchmark: `pesiar map` time and peak memory, the floor (a plain DuckDB scan of the
same Parquet columns), and link precision/recall against the generator's truth.

For each size: generate the scenario, import population and membership, run the map in a
child process (peak memory measured for that process alone), then compare its links with
the truth: precision and recall overall, recall and false links per noise kind (the hard
profile records them per card), recall by sex x age band, recall of twins' cards, the
residents with a wrong status; and the linkage rates the map reports without truth.

Usage: python bench/map.py [--sizes 100000 1000000] [--noise default|hard] [--work DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = "2024-06-01"
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "dt = time.perf_counter() - t\n"
    "sys.stderr.write(p.stderr if p.returncode else '')\n"
    "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n"
)


def measured(args: list[str], env: dict) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *args], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    if out[2] != "0":
        raise SystemExit(f"{' '.join(args)} failed")
    return float(out[0]), int(out[1]) / 1024**2


def floor_seconds(population: Path, membership: Path) -> float:
    """A plain scan of the columns the map reads: the fastest it could possibly be."""
    import duckdb

    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(
        f"""SELECT sum(hash(nik, kk, name, sex, birth_date, village_code, death_date))
            FROM read_parquet('{population}')"""
    ).fetchall()
    con.execute(
        f"""SELECT sum(hash(noka, nik, name, sex, birth_date, kk, segment, status,
                            inactive_reason, village_code))
            FROM read_parquet('{membership}')"""
    ).fetchall()
    return time.perf_counter() - started


def quality(run_dir: Path, truth: Path) -> dict:
    import duckdb

    rows = duckdb.sql(
        f"""
        WITH l AS (SELECT * FROM read_parquet('{run_dir / "links.parquet"}')),
             t AS (SELECT * FROM read_parquet('{truth}') WHERE NOT duplicated)
        SELECT l.method, count(*) AS links, count(*) FILTER (WHERE l.nik = t.true_nik) AS right
        FROM l JOIN t ON t.noka = l.noka GROUP BY l.method
        """
    ).fetchall()
    by_method = {m: (n, r) for m, n, r in rows}
    true_pairs = duckdb.sql(
        f"""SELECT count(*) FILTER (WHERE kind <> 'emigrant')
            FROM read_parquet('{truth}') WHERE NOT duplicated"""
    ).fetchall()[0][0]
    links = sum(n for n, _ in by_method.values())
    right = sum(r for _, r in by_method.values())
    s2_links, s2_right = by_method.get("PROBABILISTIC", (0, 0))
    # stage 2's share: the true pairs the NIK join did not link rightly (a card with a NIK
    # typo, a card whose NIK is a relative's, a name that clashes with the NIK's resident)
    needs_stage2 = true_pairs - by_method.get("EXACT", (0, 0))[1]
    return {
        "precision": right / links if links else 1.0,
        "recall": right / true_pairs if true_pairs else 1.0,
        "stage2_precision": s2_right / s2_links if s2_links else 1.0,
        "stage2_recall": s2_right / needs_stage2 if needs_stage2 else 1.0,
    }


BAND = (
    "CASE WHEN date_diff('year', r.birth_date, DATE '{as_of}') < 20 THEN '0-19' "
    "WHEN date_diff('year', r.birth_date, DATE '{as_of}') < 40 THEN '20-39' "
    "WHEN date_diff('year', r.birth_date, DATE '{as_of}') < 60 THEN '40-59' ELSE '60+' END"
)


def breakdown(run_dir: Path, truth_dir: Path) -> dict:
    """Recall and false links per noise kind, recall per sex x age band, wrong statuses."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"""
        CREATE VIEW l AS SELECT * FROM read_parquet('{run_dir / "links.parquet"}');
        CREATE VIEW t AS SELECT * FROM read_parquet('{truth_dir / "participants.parquet"}')
            WHERE NOT duplicated;
        CREATE VIEW r AS SELECT * FROM read_parquet('{truth_dir / "residents.parquet"}');
        CREATE VIEW p AS SELECT * FROM read_parquet('{run_dir / "persons.parquet"}');
    """)
    has_noise = "noise" in {c[0] for c in con.execute("DESCRIBE t").fetchall()}
    kinds_sql = (
        "CASE WHEN len(noise) = 0 THEN ['none'] ELSE noise END"
        if has_noise
        else "[coalesce('nik_' || nik_noise, CASE WHEN name_variant THEN 'name_variant' "
        "ELSE 'none' END)]"
    )
    kinds = con.execute(f"""
        SELECT noise_kind, count(*) FILTER (WHERE t.kind <> 'emigrant') AS pairs,
               count(*) FILTER (WHERE l.nik = t.true_nik) AS right,
               count(*) FILTER (WHERE l.nik IS NOT NULL AND l.nik <> t.true_nik) AS wrong
        FROM (SELECT *, unnest({kinds_sql}) AS noise_kind FROM t) t LEFT JOIN l USING (noka)
        GROUP BY noise_kind ORDER BY noise_kind
    """).fetchall()
    bands = con.execute(f"""
        SELECT r.sex || ' ' || {BAND.format(as_of=AS_OF)} AS band, count(*),
               count(*) FILTER (WHERE l.nik = t.true_nik)
        FROM t JOIN r ON r.nik = t.true_nik LEFT JOIN l ON l.noka = t.noka
        WHERE t.kind = 'resident' GROUP BY ALL ORDER BY ALL
    """).fetchall()
    twins = (0, 0)
    if "twin_nik" in {c[0] for c in con.execute("DESCRIBE r").fetchall()}:
        twins = con.execute("""
            SELECT count(*), count(*) FILTER (WHERE l.nik = t.true_nik)
            FROM t JOIN r ON r.nik = t.true_nik LEFT JOIN l ON l.noka = t.noka
            WHERE r.twin_nik IS NOT NULL AND t.kind = 'resident'
        """).fetchall()[0]
    wrong_status = con.execute("""
        SELECT count(*) FROM r JOIN p USING (nik) WHERE r.alive AND r.status <> p.status
    """).fetchall()[0][0]
    return {"kinds": kinds, "bands": bands, "wrong_status": wrong_status, "twins": twins}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--noise", choices=["default", "hard"], default="default")
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pesiar-bench-map-"))
    pesiar = [sys.executable, "-m", "pesiar"]
    for size in args.sizes:
        home = work / (f"n{size}" if args.noise == "default" else f"n{size}-{args.noise}")
        env = {**os.environ, "PESIAR_DATA_DIR": str(home / "var" / "data")}
        env.pop("DATABASE_URL", None)
        scenario = home / "scenario"

        def run(*command: str, env: dict = env) -> str:
            return subprocess.run(
                [*pesiar, *command], env=env, check=True, capture_output=True, text=True
            ).stdout

        if not (scenario / "scenario.json").exists():
            run(
                "generate",
                *("--population", str(size), "--seed", "1", "--out", str(scenario)),
                *("--noise", args.noise),
            )
        run("migrate", "-v0")
        run("regions", "load", "--within", "15")
        snapshots = {}
        for kind in ("population", "membership"):
            out = run("import", kind, str(scenario / f"{kind}.csv"), "--as-of", AS_OF, "--json")
            snapshots[kind] = json.loads(out.strip().splitlines()[-1])
        seconds, peak = measured([*pesiar, "map", "--as-of", AS_OF, "--retrain"], env)
        from_db = run(
            "shell",
            "-c",
            "from pesiar.linkage.models import LinkRun; import json; r = LinkRun.objects.first();"
            " print(json.dumps({'path': str(r.path), 'seconds': r.seconds,"
            " 'rates': r.parameters.get('linkage_rates'),"
            " 'training': r.parameters.get('training'),"
            " 'population': str(r.population.data_file),"
            " 'membership': str(r.membership.data_file)}))",
        )
        info = json.loads(from_db.strip().splitlines()[-1])
        floor = floor_seconds(Path(info["population"]), Path(info["membership"]))
        q = quality(Path(info["path"]), scenario / "truth" / "participants.parquet")
        b = breakdown(Path(info["path"]), scenario / "truth")
        accepted = snapshots["membership"]["accepted"]
        print(f"map ({args.noise} noise), {size:,} residents ({accepted:,} participants)")
        print(
            f"  time         {seconds:8.1f} s  (steps: "
            + ", ".join(f"{k} {v:.1f}" for k, v in info["seconds"].items())
            + ")"
        )
        print(
            f"  floor        {floor:8.2f} s  (plain scan of the same columns); "
            f"ratio {seconds / floor:,.0f}x"
        )
        print(f"  peak memory  {peak:8.2f} GiB")
        print(f"  links        precision {q['precision']:.4f}, recall {q['recall']:.4f}")
        print(
            f"  stage 2      precision {q['stage2_precision']:.4f}"
            + (f", recall {q['stage2_recall']:.4f}" if args.noise == "default" else "")
        )
        print(f"  model        {(info.get('training') or {}).get('path')}")
        print(f"  wrong status {b['wrong_status']:,} residents")
        cards, right = b["twins"]
        if cards:
            print(f"  twins' cards {cards:,}, recall {right / cards:.4f}")
        print("  by noise kind (cards, recall, false links):")
        for kind, pairs, right, wrong in b["kinds"]:
            recall = f"{right / pairs:.4f}" if pairs else "  -   "
            print(f"    {kind:<16} {pairs:>9,}  {recall}  {wrong:>5,}")
        print("  recall by sex x age band (cards of living residents):")
        for band, pairs, right in b["bands"]:
            print(f"    {band:<10} {pairs:>9,}  {right / pairs:.4f}")
        from pesiar.linkage import rates

        print("  linkage rates (no truth needed):")
        for line in rates.lines(info["rates"]):
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

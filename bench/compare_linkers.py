"""Pesiar's map against what an analyst would run instead, on the same imported files.

Three linkers, each in a child process of this one (so that its peak memory is its own),
on the population and membership snapshots imported once per size:

- map: `pesiar map --retrain` (NIK assignment, then Splink on the leftovers, the model
  trained on them), then `pesiar map` again (the model reused, stage 2 incremental);
- splink: Splink alone on the whole files, a standard model (name, birth date, NIK, sex,
  village; blocking on NIK, on birth date + village, on name + birth year; u by random
  sampling, m by EM on the last two blocks), links at probability >= 0.95, the best per
  card;
- exact: an exact NIK join in DuckDB (the floor).

Each prints time, peak memory, precision and recall against the generator's truth; for the
map also the time of its linkage steps alone (reading the files, stage 1 and stage 2, without
the start-up, the statuses and the indicators that Splink alone does not do).

Usage: python bench/compare_linkers.py [--sizes 150000 1000000] [--noise hard] [--work DIR]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = "2024-06-01"
# The map's steps that do what Splink alone does (read the files, link); the others (start-up,
# statuses, rates, indicators) are the map's own work.
LINKING_STEPS = ("read", "exact", "probabilistic")
HERE = Path(__file__).resolve()


def quality(links: str, truth: Path) -> tuple[float, float, int]:
    """Precision and recall of `links` (a Parquet file of noka, nik) against the truth."""
    import duckdb

    right, total, pairs = duckdb.sql(
        f"""
        WITH l AS (SELECT * FROM read_parquet('{links}')),
             t AS (SELECT * FROM read_parquet('{truth}') WHERE NOT duplicated)
        SELECT count(*) FILTER (WHERE l.nik = t.true_nik), count(*),
               (SELECT count(*) FROM t WHERE kind <> 'emigrant')
        FROM l JOIN t USING (noka)
        """
    ).fetchall()[0]
    return (right / total if total else 1.0), (right / pairs if pairs else 1.0), total


def residents_sql(population: str) -> str:
    return f"""
        SELECT line AS rid, nik, kk, name, sex, birth_date, village_code
        FROM read_parquet('{population}')
        WHERE NOT list_contains(warnings, 'NIK_SHARED')
    """


def participants_sql(membership: str) -> str:
    return f"""
        SELECT line AS pid, noka, nik, kk, name, sex, birth_date, village_code
        FROM read_parquet('{membership}')
        WHERE NOT list_contains(warnings, 'NOKA_SHARED')
    """


def link_exact(population: str, membership: str, out: str) -> None:
    import duckdb

    duckdb.sql(f"""
        COPY (SELECT p.noka, r.nik FROM ({participants_sql(membership)}) p
              JOIN ({residents_sql(population)}) r ON r.nik = p.nik)
        TO '{out}' (FORMAT parquet)
    """)


def link_splink(population: str, membership: str, out: str) -> None:
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    con = duckdb.connect()
    for table, sql, key in (
        ("a_residents", residents_sql(population), "rid"),
        ("b_participants", participants_sql(membership), "pid"),
    ):
        con.execute(f"""
            CREATE TABLE {table} AS SELECT {key} AS unique_id, * EXCLUDE ({key}),
                year(birth_date) AS birth_year FROM ({sql})
        """)
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("name"),
            cl.DateOfBirthComparison("birth_date", input_is_string=False),
            cl.LevenshteinAtThresholds("nik", [1, 2]),
            cl.ExactMatch("sex"),
            cl.ExactMatch("village_code"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("nik"),
            block_on("birth_date", "village_code"),
            block_on("name", "birth_year"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI(connection=con)
    linker = Linker(
        [
            db_api.register("a_residents", dataset_display_name="a_residents"),
            db_api.register("b_participants", dataset_display_name="b_participants"),
        ],
        settings,
        log_level=None,
    )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("nik", "birth_date")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    # EM on two blocks that each leave the other's columns free, and stay bounded: birth
    # date alone would take every pair on a placeholder date (1.0M residents: 266M pairs,
    # 223M of them on one date; Splink ran out of 24 GiB on it), name alone 128M.
    for rule in (block_on("birth_date", "village_code"), block_on("name", "birth_year")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.95)
    con.execute(f"""
        COPY (
            SELECT p.noka, r.nik FROM (
                SELECT CASE WHEN source_dataset_l = 'a_residents' THEN unique_id_l
                            ELSE unique_id_r END AS rid,
                       CASE WHEN source_dataset_l = 'a_residents' THEN unique_id_r
                            ELSE unique_id_l END AS pid,
                       match_probability
                FROM {predictions.physical_name}
            ) x JOIN a_residents r ON r.unique_id = x.rid
              JOIN b_participants p ON p.unique_id = x.pid
            QUALIFY row_number() OVER (PARTITION BY x.pid ORDER BY match_probability DESC,
                                       x.rid) = 1
        ) TO '{out}' (FORMAT parquet)
    """)


def child(method: str, population: str, membership: str, out: str) -> None:
    started = time.perf_counter()
    if method == "exact":
        link_exact(population, membership, out)
    elif method == "splink":
        link_splink(population, membership, out)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"seconds": seconds, "peak": peak}))


def measure_map(pesiar: list[str], env: dict, *flags: str) -> tuple[float, float]:
    measure = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "print(time.perf_counter() - t, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", measure, *pesiar, "map", "--as-of", AS_OF, *flags],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if out[2] != "0":
        raise SystemExit("pesiar map failed")
    return float(out[0]), int(out[1]) / 1024**2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[150_000, 1_000_000])
    parser.add_argument("--noise", choices=["default", "hard"], default="hard")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--child", nargs=4, metavar=("METHOD", "POP", "MEM", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="pesiar-bench-compare-"))
    pesiar = [sys.executable, "-m", "pesiar"]
    for size in args.sizes:
        home = work / f"n{size}-{args.noise}"
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
        for kind in ("population", "membership"):
            run("import", kind, str(scenario / f"{kind}.csv"), "--as-of", AS_OF, "--json")
        files = json.loads(
            run(
                "shell",
                "-c",
                "from pesiar.registers.models import Snapshot; import json;"
                f" print(json.dumps({{k: str(Snapshot.objects.latest_for(k, '{AS_OF}')"
                ".data_file) for k in ('population', 'membership')}))",
            )
            .strip()
            .splitlines()[-1]
        )
        truth = scenario / "truth" / "participants.parquet"
        results = {}
        linking = {}  # the map's own seconds in its linkage steps
        # The first run trains its model (--retrain: no model of an earlier run is used);
        # the second, as a monthly rerun would, reuses it and links incrementally.
        for label, flags in (("Pesiar map", ("--retrain",)), ("map, rerun", ())):
            seconds, peak = measure_map(pesiar, env, *flags)
            info = json.loads(
                run(
                    "shell",
                    "-c",
                    "from pesiar.linkage.models import LinkRun; import json;"
                    " r = LinkRun.objects.first();"
                    " print(json.dumps({'path': str(r.path), 'seconds': r.seconds}))",
                )
                .strip()
                .splitlines()[-1]
            )
            results[label] = (seconds, peak, *quality(f"{info['path']}/links.parquet", truth))
            linking[label] = sum(info["seconds"][step] for step in LINKING_STEPS)
        for method, label in (("splink", "Splink alone"), ("exact", "exact NIK join")):
            out = home / f"{method}-links.parquet"
            figures = json.loads(
                subprocess.run(
                    [
                        sys.executable,
                        str(HERE),
                        "--child",
                        method,
                        files["population"],
                        files["membership"],
                        str(out),
                    ],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            results[label] = (figures["seconds"], figures["peak"], *quality(str(out), truth))
        print(f"compare linkers ({args.noise} noise), {size:,} residents")
        print(f"  {'linker':<16} {'time s':>8} {'peak GiB':>9} {'precision':>10} {'recall':>8}")
        for label, (s, p, precision, recall, _links) in results.items():
            print(f"  {label:<16} {s:8.1f} {p:9.2f} {precision:10.4f} {recall:8.4f}")
        splink = results["Splink alone"][0]
        print(
            f"  map (first run, trains) is {splink / results['Pesiar map'][0]:.1f}x faster than"
            f" Splink alone; its linkage steps ({', '.join(LINKING_STEPS)}:"
            f" {linking['Pesiar map']:.1f} s) {splink / linking['Pesiar map']:.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

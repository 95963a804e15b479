"""What the sweep reads: the social lists of its date, and every member of a family with
someone not active, with what the lists say of them (table `members`, chunked by family).
"""

import itertools
from collections.abc import Iterator
from datetime import date

import duckdb

from pesiar.linkage.models import LinkRun
from pesiar.ops.duck import sql_path
from pesiar.registers.models import Snapshot
from pesiar.registers.snapshots import snapshot_sql

LISTS = ("welfare", "stunting", "pregnancy", "layoffs", "workers")


# One table per social list, deduplicated per person; empty when the list was not imported.
LIST_SQL = {
    "welfare": (
        # min() passes over the rows without a decile (DTKS/DTSEN): listed, decile NULL
        "SELECT nik, min(decile) AS decile FROM {src} WHERE nik IS NOT NULL GROUP BY nik",
        "nik VARCHAR, decile INTEGER",
    ),
    "stunting": (
        "SELECT child_nik, child_name, birth_date, sex, kk, village_code FROM {src}",
        "child_nik VARCHAR, child_name VARCHAR, birth_date DATE, sex VARCHAR, kk VARCHAR, "
        "village_code VARCHAR",
    ),
    "pregnancy": (
        "SELECT DISTINCT nik FROM {src} WHERE nik IS NOT NULL "
        "AND (expected_delivery_date IS NULL OR expected_delivery_date >= DATE '{as_of}')",
        "nik VARCHAR",
    ),
    "layoffs": (
        "SELECT nik, max(layoff_date) AS layoff_date, arg_max(employer_code, layoff_date) "
        "AS employer_code FROM {src} WHERE nik IS NOT NULL GROUP BY nik",
        "nik VARCHAR, layoff_date DATE, employer_code VARCHAR",
    ),
    "workers": (
        "SELECT nik, min(employer_code) AS employer_code, "
        "arg_min(employer_name, employer_code) AS employer_name "
        "FROM {src} WHERE nik IS NOT NULL GROUP BY nik",
        "nik VARCHAR, employer_code VARCHAR, employer_name VARCHAR",
    ),
}


def _has_column(con: duckdb.DuckDBPyConnection, src: str, name: str) -> bool:
    return name in {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}


def load_lists(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, int | None]:
    """Temp tables for the social lists of `as_of` (or the latest before); their snapshot ids."""
    used: dict[str, int | None] = {}
    for kind in LISTS:
        snapshot = Snapshot.objects.latest_for(kind, as_of)
        select, columns = LIST_SQL[kind]
        if snapshot is None:
            con.execute(f"CREATE TEMP TABLE {kind} ({columns})")
        else:
            src = snapshot_sql(kind, snapshot.as_of)
            if kind == "stunting" and _has_column(con, src, "stunted"):
                # A measurement list (e-PPGBM) holds every child measured: only the stunted.
                src = f"(SELECT * FROM {src} WHERE stunted IS NOT FALSE)"
            con.execute(
                f"CREATE TEMP TABLE {kind} AS " + select.format(src=src, as_of=as_of.isoformat())
            )
        used[kind] = snapshot.pk if snapshot else None
    return used


def gather_members(con: duckdb.DuckDBPyConnection, run: LinkRun, chunks: int) -> int:
    """Table `members`: everyone in a family with someone not active, with what the lists
    say of them, and a chunk number per family. Returns the number of families."""
    con.execute(
        f"""
        CREATE TEMP TABLE persons AS SELECT * FROM read_parquet({sql_path(run.persons_file)});
        CREATE TEMP TABLE pop AS
        SELECT nik, arg_min(name, line) AS name, arg_min(family_relation, line) AS relation,
               arg_min(concat_ws(' ', address, 'RT ' || rt, 'RW ' || rw), line) AS address
        FROM {snapshot_sql("population", run.population.as_of)} GROUP BY nik;
        CREATE TEMP TABLE bpjs AS
        SELECT noka, arg_min(village_code, line) AS village_code
        FROM {snapshot_sql("membership", run.membership.as_of)} GROUP BY noka;
        CREATE TEMP TABLE newborns AS
        SELECT s.* FROM stunting s WHERE s.child_nik IS NULL
          AND s.kk IN (SELECT kk FROM persons);
        CREATE TEMP TABLE families AS
        SELECT kk FROM persons WHERE status <> 'ACTIVE' AND kk IS NOT NULL
        UNION SELECT kk FROM newborns;
        CREATE TEMP TABLE members AS
        SELECT p.kk, p.village_code, p.nik, pop.name, p.sex, p.birth_date, pop.relation,
               pop.address, p.status, p.reason AS inactive_reason, p.noka, p.segment,
               p.arrears_months, p.arrears_amount,
               coalesce(wk.employer_code, l.employer_code, p.employer_code) AS employer_code,
               wk.employer_name, w.decile, w.nik IS NOT NULL AS welfare_listed, l.layoff_date,
               p.nik IN (SELECT child_nik FROM stunting) AS stunted,
               pr.nik IS NOT NULL AS pregnant, wk.nik IS NOT NULL AS formal_worker,
               coalesce(p.reason = 'DECEASED', false) AS deceased_suspected,
               coalesce(left(b.village_code, 5) <> left(p.village_code, 5), false)
                   AS moved_suspected
        FROM persons p SEMI JOIN families f ON p.kk = f.kk
        LEFT JOIN pop ON pop.nik = p.nik
        LEFT JOIN bpjs b ON b.noka = p.noka
        LEFT JOIN welfare w ON w.nik = p.nik
        LEFT JOIN layoffs l ON l.nik = p.nik
        LEFT JOIN pregnancy pr ON pr.nik = p.nik
        LEFT JOIN workers wk ON wk.nik = p.nik
        UNION ALL
        SELECT n.kk, coalesce(n.village_code, (SELECT any_value(village_code) FROM persons
                                               WHERE kk = n.kk)),
               NULL, n.child_name, n.sex, n.birth_date, 'ANAK', NULL, 'NOT_REGISTERED', NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, true, false, false, false,
               false
        FROM newborns n;
        ALTER TABLE members ADD COLUMN chunk INTEGER;
        UPDATE members SET chunk = hash(kk) % {chunks};
        """
    )
    return con.execute("SELECT count(DISTINCT kk) FROM members").fetchall()[0][0]


MEMBER_SQL = """
    SELECT kk, village_code, nik, name, sex, birth_date, relation, address, status,
           inactive_reason, noka, segment, arrears_months, arrears_amount, employer_code,
           employer_name, decile, welfare_listed, layoff_date, stunted, pregnant, formal_worker,
           deceased_suspected, moved_suspected
    FROM members WHERE chunk = ? ORDER BY kk, birth_date NULLS LAST, nik
"""


def families(con: duckdb.DuckDBPyConnection, chunks: int) -> Iterator[tuple[str, list[tuple]]]:
    for chunk in range(chunks):
        rows = con.execute(MEMBER_SQL, [chunk]).fetchall()
        yield from ((kk, list(group)) for kk, group in itertools.groupby(rows, lambda r: r[0]))

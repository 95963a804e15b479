"""Incremental linkage: stage 2 compares only what changed since the previous run.

When the previous finished run on the same regencies exists and its model is reused (no
`--retrain`, the leftovers within the drift allowance), a leftover record is *settled*
when it is exactly as it was then (resident by NIK, participant by Noka: NIK, KK, name,
sex, birth date and village all equal), it was a leftover of that run too (not linked on
the NIK) and it was not part of a pair sent to review. Then:

1. a probabilistic link of the previous run whose resident and participant are both
   settled is kept as it was (same probability), without being scored again;
2. every other leftover is *fresh*: new, changed, linked on the NIK before, in review, or
   settled but left without its previous partner;
3. the probabilistic stage scores only the pairs with at least one fresh record and no
   kept one; a kept link is not contested by a newcomer.

With the same model, a pair of two settled records scores as it did: if it was not linked
then, it would not be now. So the result is that of a full run, except where a newcomer
would have beaten a kept link, and for the small shift of the name frequencies between the
two registers (the term-frequency weight of an exact name). `--retrain` always runs in full.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pesiar.linkage import training
from pesiar.linkage.models import LinkRun, ReviewItem
from pesiar.ops.duck import sql_path
from pesiar.registers.snapshots import snapshot_sql

# Switch for a full run with a reused model (the equivalence test compares the two).
ENABLED = True

_FIELDS = ("nik", "kk", "name", "sex", "birth_date", "village_code")


def previous_run(key: str, exclude: int | None = None) -> LinkRun | None:
    """The latest finished run on the same regencies whose links are still on disk."""
    runs = LinkRun.objects.filter(status=LinkRun.Status.DONE, parameters__model_key=key)
    for run in runs.exclude(pk=exclude).order_by("-finished_at", "-id")[:5]:
        if run.links_file.exists():
            return run
    return None


def mark(
    con: duckdb.DuckDBPyConnection, previous: LinkRun, residents: str, participants: str
) -> dict[str, Any]:
    """Columns `fresh` and `kept` on the leftover tables `residents` (rid, nik, ...) and
    `participants` (pid, noka, ...), and table `kept_links(rid, pid, probability)`."""
    reviewed = list(
        ReviewItem.objects.unscoped(reason="incremental linkage")
        .filter(run=previous)
        .values_list("resident_nik", "noka")
    )
    con.execute("CREATE OR REPLACE TEMP TABLE prev_review (nik VARCHAR, noka VARCHAR)")
    if reviewed:
        con.executemany("INSERT INTO prev_review VALUES (?, ?)", reviewed)
    same = " AND ".join(f"o.{f} IS NOT DISTINCT FROM x.{f}" for f in _FIELDS)
    pop = snapshot_sql("population", previous.population.as_of)
    mem = snapshot_sql("membership", previous.membership.as_of)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE prev_links AS
        SELECT nik, noka, method, probability FROM read_parquet({sql_path(previous.links_file)});
        CREATE OR REPLACE TEMP TABLE settled_r AS
        SELECT x.rid, x.nik FROM {residents} x
        WHERE EXISTS (SELECT 1 FROM {pop} o WHERE o.nik = x.nik AND {same})
          AND x.nik NOT IN (SELECT nik FROM prev_links
                            WHERE method = 'EXACT' AND nik IS NOT NULL)
          AND x.nik NOT IN (SELECT nik FROM prev_review WHERE nik IS NOT NULL);
        CREATE OR REPLACE TEMP TABLE settled_p AS
        SELECT x.pid, x.noka FROM {participants} x
        WHERE EXISTS (SELECT 1 FROM {mem} o WHERE o.noka = x.noka AND {same})
          AND x.noka NOT IN (SELECT noka FROM prev_links
                             WHERE method = 'EXACT' AND noka IS NOT NULL)
          AND x.noka NOT IN (SELECT noka FROM prev_review WHERE noka IS NOT NULL);
        CREATE OR REPLACE TEMP TABLE kept_links AS
        SELECT r.rid, p.pid, l.probability FROM prev_links l
        JOIN settled_r r ON r.nik = l.nik JOIN settled_p p ON p.noka = l.noka
        WHERE l.method = 'PROBABILISTIC';
        CREATE OR REPLACE TEMP TABLE {residents} AS
        SELECT x.*, x.rid IN (SELECT rid FROM kept_links) AS kept,
               x.rid NOT IN (SELECT rid FROM settled_r)
               OR (coalesce(x.nik IN (SELECT nik FROM prev_links WHERE nik IS NOT NULL), false)
                   AND x.rid NOT IN (SELECT rid FROM kept_links)) AS fresh
        FROM {residents} x;
        CREATE OR REPLACE TEMP TABLE {participants} AS
        SELECT x.*, x.pid IN (SELECT pid FROM kept_links) AS kept,
               x.pid NOT IN (SELECT pid FROM settled_p)
               OR (coalesce(x.noka IN (SELECT noka FROM prev_links WHERE noka IS NOT NULL),
                            false)
                   AND x.pid NOT IN (SELECT pid FROM kept_links)) AS fresh
        FROM {participants} x;
    """)
    kept, fresh_r, fresh_p = con.execute(f"""
        SELECT (SELECT count(*) FROM kept_links),
               (SELECT count(*) FILTER (fresh) FROM {residents}),
               (SELECT count(*) FILTER (fresh) FROM {participants})
    """).fetchall()[0]
    for table in ("prev_review", "prev_links", "settled_r", "settled_p"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return {
        "previous_run": previous.pk,
        "kept_links": kept,
        "fresh_residents": fresh_r,
        "fresh_participants": fresh_p,
    }


def prepare(
    con: duckdb.DuckDBPyConnection,
    key: str,
    run: LinkRun,
    reference: dict | None,
    retrain: bool,
) -> dict | None:
    """Mark the fresh and kept leftovers when stage 2 can run incrementally (a previous
    run on these regencies, its model reused as it is), else None."""
    if not ENABLED or retrain or reference is None:
        return None
    n_left, n_right = con.execute(
        "SELECT (SELECT count(*) FROM left_residents), (SELECT count(*) FROM left_participants)"
    ).fetchall()[0]
    if training.drifted(reference, n_left, n_right):
        return None
    previous = previous_run(key, exclude=run.pk)
    if previous is None or None in (
        snapshot_sql("population", previous.population.as_of),
        snapshot_sql("membership", previous.membership.as_of),
    ):
        return None
    return mark(con, previous, "left_residents", "left_participants")

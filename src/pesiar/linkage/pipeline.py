"""Petakan: link residents to JKN participants and compute the indicators of every region.

Stage 1 joins on a valid NIK. Stage 2 (Splink) compares the residents and participants left
over; links at or above the upper threshold are accepted, the band below goes to review, and
staff decisions on review pairs hold for later runs. Each living resident then gets a status
(ACTIVE, INACTIVE with reason, NOT_REGISTERED); the indicators follow from the statuses.

Duplicate NIKs are resolved by a fixed rule and counted, never double-counted:
- population: one resident per NIK, the first line of the file (the others are listed at
  import as NIK_SHARED);
- membership: per NIK, the participant whose birth date and name agree with the resident,
  then the active one, then the first line; the others on that NIK go to the probabilistic
  stage, and if they find no resident they count as participants without a resident.
"""

import logging
import shutil
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pesiar.coverage.services import indicator_table, store_indicators
from pesiar.linkage import incremental, names, rates, review
from pesiar.linkage.engines import (
    MapError,
    MapFailed,
    check_engine,
    failure_reason,
    open_engine,
)
from pesiar.linkage.models import LinkRun
from pesiar.ops.duck import Steps, sql_path
from pesiar.registers.models import Snapshot
from pesiar.registers.snapshots import snapshot_sql

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]


def snapshots_for(as_of: date) -> tuple[Snapshot, Snapshot]:
    """The population and membership snapshots of `as_of`, or the latest before it."""
    found = {}
    for kind in ("population", "membership"):
        snapshot = Snapshot.objects.latest_for(kind, as_of)
        if snapshot is None:
            raise MapError(
                f"no {kind} snapshot on or before {as_of}: import one with "
                f"`pesiar import {kind} FILE --as-of DATE`"
            )
        found[kind] = snapshot
    return found["population"], found["membership"]


def load_inputs(
    con: duckdb.DuckDBPyConnection, population: Snapshot, membership: Snapshot, as_of: date
) -> dict[str, int]:
    """Tables `residents` (one per NIK, living or not) and `participants` (one per Noka)."""
    # Only the columns needed are read, straight from the snapshots' Parquet files.
    pop = snapshot_sql("population", population.as_of)
    mem = snapshot_sql("membership", membership.as_of)
    con.execute(f"SELECT * FROM {pop} LIMIT 0")
    columns = {d[0] for d in con.description}
    # A resident the village system records as dead or moved away (OpenSID status_dasar,
    # SIAK Status) is not in the population; snapshots from before that column have none.
    here = (
        "coalesce(life_status, 'ALIVE') NOT IN ('DECEASED', 'MOVED')"
        if "life_status" in columns
        else "true"
    )
    con.execute(
        f"""
        CREATE TEMP TABLE residents AS
        SELECT line AS rid, nik, kk, name, sex, birth_date, village_code,
               (death_date IS NULL OR death_date > DATE '{as_of}') AND {here} AS alive
        FROM {pop}
        WHERE NOT list_contains(warnings, 'NIK_SHARED')
           OR line IN (SELECT min(line) FROM {pop} WHERE list_contains(warnings, 'NIK_SHARED')
                       GROUP BY nik);
        CREATE TEMP TABLE participants AS
        SELECT line AS pid, noka, nik, kk, name, sex, birth_date, village_code, segment,
               class, status, inactive_reason, arrears_months, arrears_amount, employer_code
        FROM {mem}
        WHERE NOT list_contains(warnings, 'NOKA_SHARED')
           OR line IN (SELECT min(line) FROM {mem} WHERE list_contains(warnings, 'NOKA_SHARED')
                       GROUP BY noka);
        """
    )
    residents, alive = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE alive) FROM residents"
    ).fetchall()[0]
    participants = con.execute("SELECT count(*) FROM participants").fetchall()[0][0]
    return {
        "residents": residents,
        "population": alive,
        "population_rows_same_nik": population.accepted - residents,
        "participants": participants,
        "participant_rows_same_noka": membership.accepted - participants,
    }


def stage_exact(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Table `links` from the NIK join, as an assignment.

    A mistyped NIK can be another resident's real NIK (a twin born the same day differs
    only in the serial). So the names of every NIK pair are compared (`names.
    name_agreement_sql`): a pair whose names clearly disagree is left to the probabilistic
    stage, which can link the card to the sibling it belongs to; otherwise the pair needs
    the birth date to agree, or the name without keying slips (RAINA is not RINA NASYIAH
    born 45 years earlier: stage 2 weighs all the evidence). A pair on two family cards
    whose names are not spelt alike goes to stage 2 too: a mistyped NIK that hits another
    person carries the KK of the card's owner (PADMA's card on SITI WIRDA PADMASARI's NIK),
    and stage 2 weighs the KK with the rest. Each resident takes at most one
    card (a card has one NIK, so one resident): the best-agreeing one, by birth date, then
    name agreement, then active status, then the first line.
    """
    # Most cards spell the name exactly as the register does: those pairs agree fully
    # without the (costly) normalisation and comparison, which run on the others only: once
    # per spelling, and once per pair of spellings (at 10M, 0.9M pairs hold 0.43M distinct
    # ones). The strict agreement decides only the pairs whose birth dates differ.
    con.execute(
        f"""
        CREATE TEMP TABLE nik_candidates AS
        SELECT rid, pid, active, same_birth, spelt_alike, other_kk AND NOT spelt_alike AS astray,
               CASE WHEN NOT spelt_alike THEN r_name END AS r_name,
               CASE WHEN NOT spelt_alike THEN p_name END AS p_name
        FROM (
            SELECT r.rid, p.pid, p.status = 'ACTIVE' AS active,
                   coalesce(p.birth_date = r.birth_date, false) AS same_birth,
                   coalesce(p.kk <> r.kk, false) AS other_kk,
                   r.name AS r_name, p.name AS p_name,
                   -- equal as typed for most: upper and trim (1 s at 10M) for the rest
                   coalesce(CASE WHEN r.name = p.name THEN true
                                 ELSE upper(trim(r.name)) = upper(trim(p.name)) END
                            AND regexp_matches(r.name, '[A-Za-z]{{2}}'), false) AS spelt_alike
            FROM residents r JOIN participants p ON p.nik = r.nik
        );
        CREATE TEMP TABLE name_pairs AS
        WITH spellings AS (
            SELECT r_name, p_name, bool_or(NOT same_birth) AS strict_needed
            FROM nik_candidates WHERE NOT spelt_alike GROUP BY r_name, p_name
        ), forms AS (
            SELECT name, {names.normalised_name_sql("name")} AS norm
            FROM (SELECT r_name AS name FROM spellings UNION SELECT p_name FROM spellings)
        )
        SELECT r_name, p_name,
               {names.name_agreement_sql("r_norm", "p_norm")} AS agreement,
               CASE WHEN strict_needed THEN
                   {names.name_agreement_sql("r_norm", "p_norm", fuzzy=False)} END AS strict,
               coalesce(jaro_winkler_similarity(r_norm, p_norm), 0) AS similarity
        FROM (
            SELECT s.*, rf.norm AS r_norm, pf.norm AS p_norm
            FROM spellings s
            LEFT JOIN forms rf ON rf.name = s.r_name
            LEFT JOIN forms pf ON pf.name = s.p_name
        );
        CREATE TEMP TABLE nik_pairs AS
        WITH scored AS (
            SELECT rid, pid, active, same_birth, astray, 1.0::DOUBLE AS agreement,
                   1.0::DOUBLE AS strict, 1.0::DOUBLE AS similarity
            FROM nik_candidates WHERE spelt_alike
            UNION ALL
            SELECT c.rid, c.pid, c.active, c.same_birth, c.astray, n.agreement,
                   CASE WHEN NOT c.same_birth THEN n.strict END AS strict, n.similarity
            FROM nik_candidates c JOIN name_pairs n
              ON n.r_name IS NOT DISTINCT FROM c.r_name
             AND n.p_name IS NOT DISTINCT FROM c.p_name
            WHERE NOT c.spelt_alike
        )
        SELECT *, coalesce(agreement >= {names.NAMES_CLASH}, false) AS same_name,
               coalesce(agreement < {names.NAMES_CLASH}, false) AS names_clash,
               coalesce(strict >= {names.NAMES_CLASH}, false) AS same_name_strictly,
               NOT astray AND (same_birth OR same_name_strictly) AS enough
        FROM scored;
        DROP TABLE nik_candidates;
        DROP TABLE name_pairs;
        CREATE TEMP TABLE links AS
        SELECT rid,
               arg_max(pid, (same_birth::INT * 4 + same_name::INT * 2 + active::INT) * 4
                            + coalesce(agreement, 0) * 2 + similarity - pid / 1e15) AS pid,
               'EXACT' AS method, 1.0::DOUBLE AS probability
        FROM nik_pairs WHERE NOT names_clash AND enough GROUP BY rid;
        """
    )
    links, pairs, disagreeing, clash = con.execute(
        """
        SELECT (SELECT count(*) FROM links), (SELECT count(*) FROM nik_pairs),
               (SELECT count(*) FROM nik_pairs WHERE names_clash OR NOT enough),
               (SELECT count(*) FROM nik_pairs WHERE names_clash)
        """
    ).fetchall()[0]
    con.execute("DROP TABLE nik_pairs")  # its memory is the later steps'
    return {
        "exact_links": links,
        "participants_sharing_a_nik": pairs - links - disagreeing,
        "nik_matches_disagreeing": disagreeing,
        "nik_matches_names_clash": clash,
    }


def model_key(con: duckdb.DuckDBPyConnection) -> str:
    """The regions a run covers (its regencies), which a kept model must share."""
    regencies = con.execute(
        "SELECT string_agg(DISTINCT left(village_code, 5), ',' ORDER BY left(village_code, 5))"
        " FROM residents WHERE village_code IS NOT NULL"
    ).fetchall()[0][0]
    return regencies or ""


def reference_model(key: str, exclude: int | None = None) -> dict | None:
    """The model of the latest finished run on the same regions whose model was trained
    on its own data (not reused, not priors), with its leftover sizes."""
    runs = LinkRun.objects.filter(status=LinkRun.Status.DONE, parameters__model_key=key)
    for run in runs.exclude(pk=exclude).order_by("-finished_at", "-id")[:20]:
        training = run.parameters.get("training") or {}
        if training.get("path") in ("trained", "partly fixed"):
            path = run.path / "model.json"
            if path.exists():
                return {"model": path, "run": run.pk, **(run.parameters.get("sizes") or {})}
    return None


def stage_probabilistic(
    con: duckdb.DuckDBPyConnection,
    run: LinkRun,
    out: Path,
    upper: float,
    lower: float,
    retrain: bool = False,
) -> dict[str, int]:
    """Splink over the leftovers; accepted links join `links`, review pairs become items."""
    from pesiar.linkage.probabilistic import link_probabilistic

    con.execute(
        """
        CREATE TEMP TABLE left_residents AS
        SELECT r.rid, r.nik, r.kk, r.name, r.sex, r.birth_date, r.village_code
        FROM residents r LEFT JOIN links l ON l.rid = r.rid WHERE l.rid IS NULL;
        CREATE TEMP TABLE left_participants AS
        SELECT p.pid, p.noka, p.nik, p.kk, p.name, p.sex, p.birth_date, p.village_code
        FROM participants p LEFT JOIN links l ON l.pid = p.pid WHERE l.pid IS NULL;
        """
    )
    key = model_key(con)
    reference = reference_model(key, exclude=run.pk)
    # Incremental stage 2 on DuckDB; another engine (Spark) links its leftovers in full.
    on_duckdb = not hasattr(con, "splink_api")
    since = incremental.prepare(con, key, run, reference, retrain) if on_duckdb else None
    result = link_probabilistic(
        con,
        "left_residents",
        "left_participants",
        out_dir=out,
        upper=upper,
        lower=lower,
        reference=reference,
        retrain=retrain,
        population="residents",
        fresh_only=since is not None,
    )
    training = dict(result.training)
    if reference is not None:
        training["reference_run"] = reference["run"]
    kept = since["kept_links"] if since else 0
    if since is not None:
        training["incremental"] = since
        con.execute(
            "INSERT INTO links SELECT rid, pid, 'PROBABILISTIC', probability FROM kept_links"
        )
    run.parameters = {
        "model": result.parameters,
        "model_key": key,
        "training": training,
        "sizes": result.sizes,
        "upper": upper,
        "lower": lower,
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
    }
    accepted_by_review, rejected_by_review, pending = review.apply_decisions(con, run)
    con.execute(
        "INSERT INTO links SELECT rid, pid, 'PROBABILISTIC', match_probability "
        "FROM prob_links WHERE band = 'accept'"
    )
    if accepted_by_review:
        con.executemany("INSERT INTO links VALUES (?, ?, 'REVIEW', ?)", accepted_by_review)
    con.execute("DROP TABLE left_residents; DROP TABLE left_participants")
    return {
        "probabilistic_links": result.links + kept,
        "probabilistic_links_kept": kept,
        "review_pairs": result.review,
        "review_accepted_earlier": len(accepted_by_review),
        "review_rejected_earlier": rejected_by_review,
        "review_pending": pending,
        "compared_pairs": result.compared,
    }


def statuses(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, int]:
    """persons.parquet (one row per living resident), read back as the view `persons`;
    links.parquet; and table `participant_findings` per village.

    The statuses go from the join straight to the file: holding 10M of them in a table
    first costs more than the later steps reading the columns they need back from it. The
    files are read by joins on NIK and village, never in row order: both threads write
    them unordered, with zstd's first level (almost the size of its default, in less time).
    Stage 2's inputs were made before, in order, so its sampling stays repeatable. The
    columns only the matching needed are let go first: DuckDB drops a column without copying
    the table, and at 10M residents they are 0.9 GB the join would otherwise hold. The
    participants' columns join the links first, then the residents in one join: at 10M,
    6.1 s where a chain of two joins from the residents took 7.5 s."""
    if not hasattr(con, "splink_api"):  # DuckDB's; Spark keeps no order, its tables on disk
        con.execute("SET preserve_insertion_order = false")
        con.execute(
            "ALTER TABLE residents DROP COLUMN name;"
            + "".join(
                f"ALTER TABLE participants DROP COLUMN {column};"
                for column in ("nik", "kk", "name", "sex", "birth_date")
            )
        )
    persons = sql_path(out / "persons.parquet")
    con.execute(
        f"""
        COPY (
            WITH linked AS (
                SELECT l.rid, p.noka,
                       CASE WHEN p.status = 'ACTIVE' THEN 'ACTIVE' ELSE 'INACTIVE' END AS status,
                       CASE WHEN p.status <> 'ACTIVE'
                            THEN coalesce(p.inactive_reason, 'OTHER') END AS reason,
                       p.segment, p.class, p.arrears_months, p.arrears_amount, p.employer_code,
                       l.method, l.probability
                FROM links l JOIN participants p USING (pid)
            )
            SELECT r.nik, r.kk, r.village_code, r.sex, r.birth_date, k.noka,
                   coalesce(k.status, 'NOT_REGISTERED') AS status, k.reason,
                   k.segment, k.class, k.arrears_months, k.arrears_amount, k.employer_code,
                   k.method, k.probability
            FROM residents r LEFT JOIN linked k USING (rid)
            WHERE r.alive
        ) TO {persons} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1);
        CREATE TEMP VIEW persons AS SELECT * FROM read_parquet({persons});
        CREATE TEMP TABLE unlinked AS
        SELECT p.village_code FROM participants p LEFT JOIN links l USING (pid)
        WHERE l.pid IS NULL;
        CREATE TEMP TABLE deceased_links AS
        SELECT r.nik, p.noka, l.method, l.probability, r.village_code
        FROM links l JOIN residents r USING (rid) JOIN participants p USING (pid)
        WHERE NOT r.alive;
        COPY (SELECT nik, noka, method, probability, true AS alive FROM persons
              WHERE method IS NOT NULL
              UNION ALL
              SELECT nik, noka, method, probability, false FROM deceased_links)
          TO {sql_path(out / "links.parquet")}
          (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1);
        CREATE TEMP TABLE participant_findings AS
        SELECT village_code, sum(unmatched) AS unmatched, sum(deceased) AS deceased_listed FROM (
            SELECT village_code, 1 AS unmatched, 0 AS deceased FROM unlinked
            WHERE village_code IS NOT NULL
            UNION ALL
            SELECT village_code, 0, 1 FROM deceased_links WHERE village_code IS NOT NULL
        ) GROUP BY village_code;
        """
    )
    return dict(
        zip(
            ("participants_without_resident", "participants_of_deceased"),
            con.execute(
                "SELECT (SELECT count(*) FROM unlinked), (SELECT count(*) FROM deceased_links)"
            ).fetchall()[0],
            strict=True,
        )
    )


def store_rates(con: duckdb.DuckDBPyConnection, run: LinkRun, as_of: date) -> dict[str, int]:
    """Linkage rates by sex x age band and by village, kept with the run."""
    stored = rates.count_groups(con, as_of)
    run.parameters["linkage_rates"] = stored
    run.parameters["linkage_summary"] = rates.summary(stored)
    return {"villages_far_below": len(run.parameters["linkage_summary"]["flagged_villages"])}


def store_run(con: duckdb.DuckDBPyConnection, run: LinkRun, as_of: date, steps: Steps) -> None:
    """Store the indicators of every region and mark the run DONE, in one transaction."""
    started = time.perf_counter()
    rows = indicator_table(con)
    columns = [d[0] for d in con.description]
    with transaction.atomic():
        steps.counts["regions"] = store_indicators(run, as_of, rows, columns)
        steps.seconds["indicators"] = round(time.perf_counter() - started, 3)
        run.counts, run.seconds = steps.counts, steps.seconds
        run.status, run.finished_at = LinkRun.Status.DONE, timezone.now()
        run.save()


def run_map(
    as_of: date,
    *,
    progress: Progress | None = None,
    upper: float | None = None,
    lower: float | None = None,
    retrain: bool = False,
    engine: str | None = None,
    spark_master: str | None = None,
) -> LinkRun:
    """Link the snapshots of `as_of` (or the latest before it) and store the indicators.

    Raises MapError when there is nothing to link. Any failure after the run has started
    leaves it FAILED with a one-line reason (`message`) and raises MapFailed. `engine`
    ("duckdb" or "spark", default settings.PESIAR["ENGINE"]) runs the steps on DuckDB or on
    a Spark session at `spark_master` (default settings.PESIAR["SPARK"]["MASTER"]).
    """
    upper = settings.PESIAR["LINK_UPPER"] if upper is None else upper
    lower = settings.PESIAR["LINK_LOWER"] if lower is None else lower
    engine = check_engine(engine)
    population, membership = snapshots_for(as_of)
    folder = Path("linkage") / as_of.isoformat() / uuid.uuid4().hex
    out = Path(settings.DATA_DIR) / folder
    out.mkdir(parents=True)
    run = LinkRun.objects.create(
        as_of=as_of, population=population, membership=membership, folder=str(folder)
    )
    steps = Steps(progress)
    con = open_engine(engine, out / "tmp", spark_master)
    try:
        steps.run(
            [
                ("read", lambda: load_inputs(con, population, membership, as_of)),
                ("exact", lambda: stage_exact(con)),
                (
                    "probabilistic",
                    lambda: stage_probabilistic(con, run, out, upper, lower, retrain),
                ),
                ("status", lambda: statuses(con, out)),
                ("rates", lambda: store_rates(con, run, as_of)),
                ("indicators", lambda: store_run(con, run, as_of, steps)),
            ]
        )
    except BaseException as exc:
        reason = failure_reason(steps.current, exc)
        # The details for whoever maintains the server; officers see the one line.
        (out / "error.txt").write_text("".join(traceback.format_exception(exc)))
        logger.warning("map #%s failed: %s (details in %s)", run.pk, reason, out / "error.txt")
        run.status, run.message = LinkRun.Status.FAILED, reason
        run.counts, run.seconds, run.finished_at = steps.counts, steps.seconds, timezone.now()
        run.save()
        if isinstance(exc, Exception):
            raise MapFailed(run, reason) from exc
        raise
    finally:
        con.close()
        shutil.rmtree(out / "tmp", ignore_errors=True)
    return run

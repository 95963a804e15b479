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

import os
import shutil
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pesiar.coverage.services import indicator_table, store_indicators
from pesiar.linkage import names
from pesiar.linkage.models import LinkRun, ReviewDecision, ReviewItem
from pesiar.registers.models import Snapshot
from pesiar.registers.snapshots import snapshot_sql

Progress = Callable[[str], None]
# Jaro-Winkler similarity of normalised names above which two records name one person.
NAME_AGREES = 0.85


class MapError(ValueError):
    """The map cannot run (e.g. no snapshot for the date)."""


def _path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


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
    con.execute(
        f"""
        CREATE TEMP TABLE pop AS SELECT * FROM {snapshot_sql("population", population.as_of)};
        CREATE TEMP TABLE residents AS
        SELECT line AS rid, nik, kk, name, sex, birth_date, village_code,
               death_date IS NULL OR death_date > DATE '{as_of}' AS alive
        FROM pop
        WHERE NOT list_contains(warnings, 'NIK_SHARED')
           OR line IN (SELECT min(line) FROM pop WHERE list_contains(warnings, 'NIK_SHARED')
                       GROUP BY nik);
        CREATE TEMP TABLE mem AS SELECT * FROM {snapshot_sql("membership", membership.as_of)};
        CREATE TEMP TABLE participants AS
        SELECT line AS pid, noka, nik, kk, name, sex, birth_date, village_code, segment,
               class, status, inactive_reason, arrears_months, arrears_amount, employer_code
        FROM mem
        WHERE NOT list_contains(warnings, 'NOKA_SHARED')
           OR line IN (SELECT min(line) FROM mem WHERE list_contains(warnings, 'NOKA_SHARED')
                       GROUP BY noka);
        DROP TABLE pop; DROP TABLE mem;
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
    """Table `links` from the NIK join.

    A mistyped NIK can be another resident's real NIK (a sibling born the same day differs in
    the serial). So an exact NIK is taken only when the birth date or the name agrees too;
    otherwise the pair is left for the probabilistic stage. Among several participants on one
    NIK, the one that agrees best is taken, then the active one, then the first line.
    """
    resident_name = names.normalised_name_sql("r_name")
    participant_name = names.normalised_name_sql("p_name")
    con.execute(
        f"""
        CREATE TEMP TABLE nik_pairs AS
        SELECT *,
               CASE WHEN same_birth THEN true  -- names compared only where the dates differ
                    ELSE coalesce(jaro_winkler_similarity({resident_name}, {participant_name}),
                                  0) >= {NAME_AGREES} END AS same_name
        FROM (
            SELECT r.rid, p.pid, p.status = 'ACTIVE' AS active, r.name AS r_name,
                   p.name AS p_name, coalesce(p.birth_date = r.birth_date, false) AS same_birth
            FROM residents r JOIN participants p ON p.nik = r.nik
        );
        CREATE TEMP TABLE links AS
        SELECT rid,
               arg_max(pid, same_birth::INT * 4 + same_name::INT * 2 + active::INT
                            - pid / 1e15) AS pid,
               'EXACT' AS method, 1.0::DOUBLE AS probability
        FROM nik_pairs WHERE same_birth OR same_name GROUP BY rid;
        """
    )
    links, pairs, disagreeing = con.execute(
        """
        SELECT (SELECT count(*) FROM links), (SELECT count(*) FROM nik_pairs),
               (SELECT count(*) FROM nik_pairs WHERE NOT (same_birth OR same_name))
        """
    ).fetchall()[0]
    return {
        "exact_links": links,
        "participants_sharing_a_nik": pairs - links - disagreeing,
        "nik_matches_disagreeing": disagreeing,
    }


def stage_probabilistic(
    con: duckdb.DuckDBPyConnection, run: LinkRun, out: Path, upper: float, lower: float
) -> dict[str, int]:
    """Splink over the leftovers; accepted links join `links`, review pairs become items."""
    from pesiar.linkage.probabilistic import link_probabilistic

    con.execute(
        """
        CREATE TEMP TABLE left_residents AS
        SELECT rid, nik, kk, name, sex, birth_date, village_code FROM residents
        WHERE rid NOT IN (SELECT rid FROM links);
        CREATE TEMP TABLE left_participants AS
        SELECT pid, nik, kk, name, sex, birth_date, village_code FROM participants
        WHERE pid NOT IN (SELECT pid FROM links);
        """
    )
    result = link_probabilistic(
        con, "left_residents", "left_participants", out_dir=out, upper=upper, lower=lower
    )
    run.parameters = {
        "model": result.parameters,
        "upper": upper,
        "lower": lower,
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
    }
    pairs = con.execute(
        """
        SELECT l.rid, l.pid, l.match_probability, l.band, r.nik, p.noka,
               r.village_code, r.name, r.sex, r.birth_date, r.kk,
               p.nik, p.name, p.sex, p.birth_date, p.kk, p.village_code
        FROM prob_links l JOIN residents r USING (rid) JOIN participants p USING (pid)
        WHERE l.band = 'review'
        """
    ).fetchall()
    decisions = {
        (d.resident_nik, d.noka): d.decision
        for d in ReviewDecision.objects.unscoped(reason="applying decisions in the map").filter(
            noka__in=[p[5] for p in pairs]
        )
    }
    accepted_by_review, rejected_by_review, items = [], 0, []
    for row in pairs:
        rid, pid, probability, _band, nik, noka, village = row[:7]
        decision = decisions.get((nik, noka))
        if decision == ReviewDecision.Decision.ACCEPT:
            accepted_by_review.append((rid, pid, probability))
        elif decision == ReviewDecision.Decision.REJECT:
            rejected_by_review += 1
        else:
            items.append(
                ReviewItem(
                    run=run,
                    village_code=village or "",
                    resident_nik=nik,
                    noka=noka,
                    probability=probability,
                    resident=_record(row[7:11], nik=nik, village=village),
                    participant=_record(row[12:16], nik=row[11], village=row[16]),
                )
            )
    con.execute(
        "INSERT INTO links SELECT rid, pid, 'PROBABILISTIC', match_probability "
        "FROM prob_links WHERE band = 'accept'"
    )
    if accepted_by_review:
        con.executemany("INSERT INTO links VALUES (?, ?, 'REVIEW', ?)", accepted_by_review)
    ReviewItem.objects.bulk_create(items, batch_size=1000)
    return {
        "probabilistic_links": result.links,
        "review_pairs": result.review,
        "review_accepted_earlier": len(accepted_by_review),
        "review_rejected_earlier": rejected_by_review,
        "review_pending": len(items),
        "compared_pairs": result.compared,
    }


def _record(values, *, nik, village) -> dict:
    name, sex, birth, kk = values
    return {
        "nik": nik,
        "name": name,
        "sex": sex,
        "birth_date": birth.isoformat() if birth else None,
        "kk": kk,
        "village_code": village,
    }


def statuses(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, int]:
    """Table `persons` (one row per living resident) written to persons.parquet, links to
    links.parquet, and table `participant_findings` per village."""
    con.execute(
        f"""
        CREATE TEMP TABLE persons AS
        SELECT r.nik, r.kk, r.village_code, r.sex, r.birth_date, p.noka,
               CASE WHEN l.pid IS NULL THEN 'NOT_REGISTERED'
                    WHEN p.status = 'ACTIVE' THEN 'ACTIVE' ELSE 'INACTIVE' END AS status,
               CASE WHEN l.pid IS NOT NULL AND p.status <> 'ACTIVE'
                    THEN coalesce(p.inactive_reason, 'OTHER') END AS reason,
               p.segment, p.class, p.arrears_months, p.arrears_amount, p.employer_code,
               l.method, l.probability
        FROM residents r LEFT JOIN links l USING (rid) LEFT JOIN participants p USING (pid)
        WHERE r.alive;
        COPY persons TO {_path(out / "persons.parquet")} (FORMAT parquet, COMPRESSION zstd);
        COPY (SELECT r.nik, p.noka, l.method, l.probability, r.alive
              FROM links l JOIN residents r USING (rid) JOIN participants p USING (pid))
          TO {_path(out / "links.parquet")} (FORMAT parquet, COMPRESSION zstd);
        CREATE TEMP TABLE participant_findings AS
        SELECT village_code, sum(unmatched) AS unmatched, sum(deceased) AS deceased_listed FROM (
            SELECT p.village_code, 1 AS unmatched, 0 AS deceased FROM participants p
            WHERE p.pid NOT IN (SELECT pid FROM links) AND p.village_code IS NOT NULL
            UNION ALL
            SELECT r.village_code, 0, 1 FROM links l JOIN residents r USING (rid)
            WHERE NOT r.alive AND r.village_code IS NOT NULL
        ) GROUP BY village_code;
        """
    )
    return dict(
        zip(
            ("participants_without_resident", "participants_of_deceased"),
            con.execute(
                """
                SELECT (SELECT count(*) FROM participants
                        WHERE pid NOT IN (SELECT pid FROM links)),
                       (SELECT count(*) FROM links JOIN residents USING (rid) WHERE NOT alive)
                """
            ).fetchall()[0],
            strict=True,
        )
    )


def run_map(
    as_of: date,
    *,
    progress: Progress | None = None,
    upper: float | None = None,
    lower: float | None = None,
) -> LinkRun:
    """Link the snapshots of `as_of` (or the latest before it) and store the indicators."""
    say = progress or (lambda _message: None)
    upper = settings.PESIAR["LINK_UPPER"] if upper is None else upper
    lower = settings.PESIAR["LINK_LOWER"] if lower is None else lower
    population, membership = snapshots_for(as_of)
    folder = Path("linkage") / as_of.isoformat() / uuid.uuid4().hex
    out = Path(settings.DATA_DIR) / folder
    out.mkdir(parents=True)
    run = LinkRun.objects.create(
        as_of=as_of, population=population, membership=membership, folder=str(folder)
    )
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    con = duckdb.connect()
    try:
        (out / "tmp").mkdir()
        con.execute(f"SET memory_limit = '{os.environ.get('PESIAR_DUCKDB_MEMORY', '3GB')}'")
        con.execute(f"SET temp_directory = {_path(out / 'tmp')}")
        steps = [
            ("read", lambda: load_inputs(con, population, membership, as_of)),
            ("exact", lambda: stage_exact(con)),
            ("probabilistic", lambda: stage_probabilistic(con, run, out, upper, lower)),
            ("status", lambda: statuses(con, out)),
        ]
        for name, step in steps:
            say(name)
            started = time.perf_counter()
            counts.update(step())
            seconds[name] = round(time.perf_counter() - started, 3)
        say("indicators")
        started = time.perf_counter()
        rows = indicator_table(con)
        columns = [d[0] for d in con.description]
        with transaction.atomic():
            counts["regions"] = store_indicators(run, as_of, rows, columns)
            seconds["indicators"] = round(time.perf_counter() - started, 3)
            run.counts, run.seconds = counts, seconds
            run.status, run.finished_at = LinkRun.Status.DONE, timezone.now()
            run.save()
    except BaseException as exc:
        run.status, run.message = LinkRun.Status.FAILED, str(exc)[:2000]
        run.counts, run.seconds, run.finished_at = counts, seconds, timezone.now()
        run.save()
        raise
    finally:
        con.close()
        shutil.rmtree(out / "tmp", ignore_errors=True)
    return run

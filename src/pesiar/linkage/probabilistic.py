"""Stage 2 of the linkage: probabilistic matching of what the exact NIK join left over.

A Fellegi-Sunter model (Splink, DuckDB backend) compares residents of the civil
register with JKN participants on name, birth date, sex, family-card number (KK),
village and the NIK itself (`comparisons`), with every m and u estimated from the data
(`estimation`): u by random sampling, m by expectation maximisation. All work happens in the
caller's DuckDB connection; nothing is copied to Python but counts and the model's
parameters.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pesiar.linkage import blocking, comparisons, estimation

OUTPUT_TABLE = "prob_links"
_PREFIX = "__pesiar_prob"
_LEFT = f"{_PREFIX}_residents"
_RIGHT = f"{_PREFIX}_participants"
_CANDIDATES = f"{_PREFIX}_candidates"
_CHOSEN = f"{_PREFIX}_chosen"
_RESOLVED = f"{_PREFIX}_resolved"
_TF = f"{_PREFIX}_tf_name_norm"
_SPELLINGS = f"{_PREFIX}_spellings"

# Source dataset names: Splink puts the alphabetically first dataset on the left.
_LEFT_NAME = "a_residents"
_RIGHT_NAME = "b_participants"


@dataclass
class ProbabilisticResult:
    """What one run of stage 2 produced (the pairs themselves are in `prob_links`)."""

    links: int
    review: int
    compared: int
    seconds: dict[str, float]
    model_path: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)


def _resolve_one_to_one(
    con: duckdb.DuckDBPyConnection,
    predictions: str,
    upper: float,
    lower: float,
    population: str | None = None,
) -> None:
    """Greedy one-to-one into the `prob_links` table: accept band first, then by
    descending match weight.

    A pair is accepted when its probability reaches `upper` and the names agree at
    least at the weakest similarity level: when everything but the name agrees (twins,
    same-day births sharing a family card) the model's evidence is not independent,
    so such pairs go to review instead. The one exception: the NIK, birth date and KK
    all agree and no other resident of `population` (the whole register, with `kk` and
    `birth_date`) shares that KK and birth date. With no twin to confuse, the card is
    that person's, its name typed badly (QORI as ORQI) or a baby's placeholder name.
    Repeatedly takes every pair that is the best remaining pair of both its resident and
    its participant (ties broken by rid, then pid); with this strict order that is
    exactly the global greedy assignment.
    """
    # The register's twins among the pairs that agree on everything but the name; the
    # scan of `population` probes only those pairs' KK and birth dates.
    twins = (
        f"""SELECT o.kk, o.birth_date FROM {population} o
            JOIN (SELECT DISTINCT kk, birth_date FROM pairs
                  WHERE all_but_name AND gamma_name = 0) c USING (kk, birth_date)
            GROUP BY o.kk, o.birth_date HAVING count(*) > 1"""
        if population is not None
        # without the register, every such pair may be a twin's: no exception
        else "SELECT DISTINCT kk, birth_date FROM pairs WHERE all_but_name"
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_CANDIDATES} AS
        WITH pairs AS (
            SELECT
                CASE WHEN source_dataset_l = '{_LEFT_NAME}' THEN unique_id_l
                     ELSE unique_id_r END AS rid,
                CASE WHEN source_dataset_l = '{_LEFT_NAME}' THEN unique_id_r
                     ELSE unique_id_l END AS pid,
                match_probability, match_weight, gamma_name,
                coalesce(nik_l = nik_r AND birth_date_l = birth_date_r AND kk_l = kk_r, false)
                    AS all_but_name,
                kk_l AS kk, birth_date_l AS birth_date
            FROM {predictions}
            WHERE match_probability >= {lower}
        ), twins AS ({twins})
        SELECT rid, pid, match_probability, match_weight,
            match_probability >= {upper}
                AND (gamma_name > 0 OR (all_but_name AND t.kk IS NULL)) AS accept,
            round(match_weight, 9) AS w
        FROM pairs LEFT JOIN twins t USING (kk, birth_date)
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_RESOLVED} (
            rid BIGINT, pid BIGINT, match_probability DOUBLE, match_weight DOUBLE, accept BOOLEAN
        )
    """)
    while True:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {_CHOSEN} AS
            SELECT rid, pid, match_probability, match_weight, accept FROM (
                SELECT *,
                    row_number() OVER (PARTITION BY rid ORDER BY accept DESC, w DESC, pid)
                        AS by_rid,
                    row_number() OVER (PARTITION BY pid ORDER BY accept DESC, w DESC, rid)
                        AS by_pid
                FROM {_CANDIDATES}
            ) WHERE by_rid = 1 AND by_pid = 1
        """)
        chosen = con.execute(f"SELECT count(*) FROM {_CHOSEN}").fetchall()[0][0]
        if not chosen:
            break
        con.execute(f"INSERT INTO {_RESOLVED} SELECT * FROM {_CHOSEN}")
        con.execute(f"""
            DELETE FROM {_CANDIDATES}
            WHERE rid IN (SELECT rid FROM {_CHOSEN}) OR pid IN (SELECT pid FROM {_CHOSEN})
        """)
    con.execute(f"""
        CREATE OR REPLACE TABLE {OUTPUT_TABLE} AS
        SELECT rid, pid, match_probability, match_weight,
            CASE WHEN accept THEN 'accept' ELSE 'review' END AS band
        FROM {_RESOLVED}
        ORDER BY rid, pid
    """)
    for table in (_CANDIDATES, _CHOSEN, _RESOLVED):
        con.execute(f"DROP TABLE IF EXISTS {table}")


@dataclass
class _Job:
    """One call of `link_probabilistic`: where the model goes, thresholds, model choice."""

    model_path: Path
    upper: float
    lower: float
    seed: int
    reference: dict[str, Any] | None
    retrain: bool
    population: str | None
    fresh_only: bool = False
    seconds: dict[str, float] = field(default_factory=dict)


def _empty_output(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        CREATE OR REPLACE TABLE {OUTPUT_TABLE} (
            rid BIGINT, pid BIGINT, match_probability DOUBLE, match_weight DOUBLE, band VARCHAR
        )
    """)


def link_probabilistic(
    con: duckdb.DuckDBPyConnection,
    residents: str,
    participants: str,
    *,
    out_dir: Path,
    upper: float = 0.95,
    lower: float = 0.5,
    seed: int = 1,
    reference: dict[str, Any] | None = None,
    retrain: bool = False,
    population: str | None = None,
    fresh_only: bool = False,
) -> ProbabilisticResult:
    """Link `residents` to `participants` (tables or views in `con`) with Splink.

    Inputs: residents(rid, nik, kk, name, sex, birth_date, village_code) and
    participants(pid, nik, kk, name, sex, birth_date, village_code); ids castable to
    BIGINT, birth_date a DATE, sex 'L'/'P', village_code 'PP.RR.DD.VVVV'. Writes the
    one-to-one table `prob_links(rid, pid, match_probability, match_weight, band)`:
    band 'accept' when probability >= upper and the names agree at some similarity
    level, else 'review' (probability >= lower); and the trained model to
    out_dir/model.json (a stub {"empty": true} when either input is empty).

    `reference` is the model of an earlier run on the same regions ({"model": path to its
    model.json, "left": n, "right": n}): reused as it is unless `retrain` or the leftovers
    drifted, and the fallback for levels these data cannot estimate (see `training`).
    `population` (a table with `name`, `kk` and `birth_date`, e.g. all residents) gives the
    name frequencies of the term-frequency adjustment, and the twins that keep a pair
    agreeing on all but the name in review (`_resolve_one_to_one`); without it the
    frequencies come from the inputs, and every such pair goes to review.
    With `fresh_only` the inputs carry the columns `fresh` and `kept` (`incremental`) and
    only pairs with a fresh record and no kept one are scored.
    """
    if not 0 < lower <= min(upper, 1):
        # upper above 1 is allowed: nothing is accepted without review.
        raise ValueError(f"need 0 < lower <= upper, got lower={lower}, upper={upper}")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    job = _Job(
        Path(out_dir) / "model.json",
        upper,
        lower,
        seed,
        reference,
        retrain,
        population,
        fresh_only,
    )
    # The prepared tables hold a row per input row.
    n_left, n_right = con.execute(
        f"SELECT (SELECT count(*) FROM {residents}), (SELECT count(*) FROM {participants})"
    ).fetchall()[0]
    if not n_left or not n_right:
        _empty_output(con)
        job.model_path.write_text(json.dumps({"empty": True}))
        return ProbabilisticResult(
            0, 0, 0, job.seconds, job.model_path, {}, {"path": "nothing to link"}, {}
        )
    started = time.perf_counter()
    known = None
    if population is not None:
        comparisons.name_spellings(con, population, _SPELLINGS)
        known = _SPELLINGS
    con.execute(comparisons.prepare_sql(residents, "rid", _LEFT, fresh_only, known))
    con.execute(comparisons.prepare_sql(participants, "pid", _RIGHT, fresh_only, known))
    job.seconds["prepare"] = time.perf_counter() - started
    started = time.perf_counter()
    blocks = blocking.cap_blocks(con, _LEFT, _RIGHT)
    job.seconds["count"] = time.perf_counter() - started
    try:
        record, trained, compared = _score(con, job, blocks, (n_left, n_right))
    finally:
        _drop(con, (_LEFT, _RIGHT, _TF, _SPELLINGS))
    links, review = con.execute(
        f"SELECT count(*) FILTER (band = 'accept'), count(*) FILTER (band = 'review') "
        f"FROM {OUTPUT_TABLE}"
    ).fetchall()[0]
    return ProbabilisticResult(
        links=links,
        review=review,
        compared=compared,
        seconds=job.seconds,
        model_path=job.model_path,
        parameters=estimation.parameters(trained),
        training={**record.as_dict(), "blocking": blocks},
        sizes={"left": n_left, "right": n_right},
    )


def _score(
    con: duckdb.DuckDBPyConnection, job: _Job, blocks: dict[str, Any], sizes: tuple[int, int]
) -> tuple[Any, dict[str, Any], int]:
    """Train (or reuse) the model, predict and resolve one-to-one into `prob_links`;
    returns the training record, the saved model and the number of pairs compared.

    On DuckDB Splink works on `con` itself; another engine's connection brings its Splink
    backend and its dialect of the comparisons (`splink_api`, `splink_settings`: the Spark
    session of `pesiar.linkage.spark`), and everything else here runs through it as is."""
    from splink import DuckDBAPI, Linker

    with _quiet_splink():
        engine = getattr(con, "splink_api", None)
        db_api = engine() if engine else DuckDBAPI(connection=con)
        left = db_api.register(_LEFT, dataset_display_name=_LEFT_NAME)
        right = db_api.register(_RIGHT, dataset_display_name=_RIGHT_NAME)
        settings = comparisons.settings(job.seed, blocks["capped"], job.fresh_only)
        if engine:
            settings = con.splink_settings(settings)
        # The settings are the project's own, checked by its tests: Splink's check of
        # them against the input columns (0.3 s a run) would only log.
        linker = Linker([left, right], settings, log_level=None, validate_settings=False)
        try:
            if job.population is not None:
                started = time.perf_counter()
                comparisons.name_frequencies(con, _SPELLINGS, _TF)
                linker.table_management.register_term_frequency_lookup(
                    db_api.register(_TF), "name_norm"
                )
                job.seconds["frequencies"] = time.perf_counter() - started
            started = time.perf_counter()
            record = estimation.train_or_reuse(
                con, linker, (_LEFT, _RIGHT), *sizes, job.seed, job.reference, job.retrain
            )
            trained = linker.misc.save_model_to_json(str(job.model_path), overwrite=True)
            job.seconds["train"] = time.perf_counter() - started

            started = time.perf_counter()
            blocked = linker.inference.compute_blocked_pairs_for_predict()
            compared = con.execute(f"SELECT count(*) FROM {blocked.physical_name}").fetchall()
            predictions = linker.inference.predict(
                threshold_match_probability=job.lower, warning_mode="never"
            )
            job.seconds["predict"] = time.perf_counter() - started

            started = time.perf_counter()
            _resolve_one_to_one(
                con, predictions.physical_name, job.upper, job.lower, job.population
            )
            job.seconds["resolve"] = time.perf_counter() - started
        finally:
            linker.table_management.delete_tables_created_by_splink_from_db()
    return record, trained, compared[0][0]


@contextmanager
def _quiet_splink() -> Iterator[None]:
    """Keep Splink's training chatter (unobserved levels, ...) out of the caller's
    console unless its logger was configured on purpose."""
    splink_logger = logging.getLogger("splink")
    level = splink_logger.level
    if level == logging.NOTSET:
        splink_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        splink_logger.setLevel(level)


def _drop(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> None:
    for table in tables:
        con.execute(f"DROP TABLE IF EXISTS {table}")

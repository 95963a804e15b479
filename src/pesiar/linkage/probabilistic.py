"""Stage 2 of the linkage: probabilistic matching of what the exact NIK join left over.

A Fellegi-Sunter model (Splink, DuckDB backend) compares residents of the civil
register with JKN participants on name, birth date, sex, family-card number (KK),
village and the NIK itself, with every m and u estimated from the data: u by random
sampling, m by expectation maximisation. All work happens in the caller's DuckDB
connection; nothing is copied to Python but counts and the model's parameters.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pesiar.linkage import blocking
from pesiar.linkage import training as robust
from pesiar.linkage.names import compact_name_sql, normalised_name_sql

OUTPUT_TABLE = "prob_links"
_PREFIX = "__pesiar_prob"
_LEFT = f"{_PREFIX}_residents"
_RIGHT = f"{_PREFIX}_participants"
_CANDIDATES = f"{_PREFIX}_candidates"
_CHOSEN = f"{_PREFIX}_chosen"
_RESOLVED = f"{_PREFIX}_resolved"
# A view Splink's estimate of the prior registers on the connection and leaves behind.
_SPLINK_COUNT_VIEW = "result_df"

# Source dataset names: Splink puts the alphabetically first dataset on the left.
_LEFT_NAME = "a_residents"
_RIGHT_NAME = "b_participants"

# Random pairs sampled to estimate u; enough for stable u on rare levels, cheap on 2 cores.
U_MAX_PAIRS = 1e6
# Pairs (at most, sampled deterministically) per expectation-maximisation session.
EM_MAX_PAIRS = 5e5
# Rules that admit (almost) only true matches, and the share of all matches they find:
# used to estimate the prior probability that two random records match.
_PRIOR_RECALL = 0.8


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


def _prepare_sql(source: str, id_column: str, target: str) -> str:
    """A TEMP table in the shape Splink compares: same columns for both registers."""
    name = normalised_name_sql("name")
    return f"""
        CREATE OR REPLACE TEMP TABLE {target} AS
        WITH cleaned AS (
            SELECT
                CAST({id_column} AS BIGINT) AS unique_id,
                nullif(regexp_replace(CAST(nik AS VARCHAR), '[^0-9]', '', 'g'), '') AS nik,
                nullif(regexp_replace(CAST(kk AS VARCHAR), '[^0-9]', '', 'g'), '') AS kk,
                {name} AS name_norm,
                CASE
                    WHEN upper(trim(sex)) IN ('L', 'LAKI-LAKI', 'M') THEN 'L'
                    WHEN upper(trim(sex)) IN ('P', 'PEREMPUAN', 'F', 'W') THEN 'P'
                END AS sex,
                CAST(birth_date AS DATE) AS birth_date,
                nullif(trim(CAST(village_code AS VARCHAR)), '') AS village
            FROM {source}
        )
        SELECT *, left(name_compact, 4) AS name_key
        FROM (
            SELECT
                unique_id, nik, kk, name_norm,
                {compact_name_sql("name_norm")} AS name_compact,
                array_to_string(list_sort(string_split(name_norm, ' ')), ' ') AS name_sorted,
                list_reduce(string_split(name_norm, ' '),
                            lambda a, b: CASE WHEN length(b) > length(a) THEN b ELSE a END)
                    AS name_long,
                sex, birth_date,
                year(birth_date) AS birth_year,
                village,
                left(village, 8) AS district,
                left(village, 5) AS regency,
                CASE WHEN length(nik) = 16 THEN left(nik, 12) END AS nik_head,
                CASE WHEN length(nik) = 16 THEN right(nik, 10) END AS nik_tail
            FROM cleaned
        )
        ORDER BY unique_id
    """


def _level(sql: str, label: str, *, null: bool = False) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if null:
        level["is_null_level"] = True
    return level


def _else() -> dict[str, Any]:
    return _level("ELSE", "All other comparisons")


def _comparisons() -> list[dict[str, Any]]:
    """The five comparisons, levels in decreasing order of agreement.

    Birth date and NIK form one comparison: the NIK spells out the birth date (and
    sex and district), so two people born on the same day in the same district have
    NIKs one or two digits apart. Scored separately, a same-day neighbour would earn
    the birth-date weight twice; scored jointly, "same date and NIK one digit off"
    gets the u measured for exactly that combination.
    """
    jw_norm = "jaro_winkler_similarity(name_norm_l, name_norm_r)"
    jw_compact = "jaro_winkler_similarity(name_compact_l, name_compact_r)"
    jw_sorted = "jaro_winkler_similarity(name_sorted_l, name_sorted_r)"
    # Jaro-Winkler is harsh on short names (ADE/AE, RINI/RNI): allow one edit there.
    one_edit_short = (
        "(least(length(name_compact_l), length(name_compact_r)) <= 6"
        " AND abs(length(name_compact_l) - length(name_compact_r)) <= 1"
        " AND (left(name_compact_l, 1) = left(name_compact_r, 1)"
        " OR right(name_compact_l, 1) = right(name_compact_r, 1))"
        " AND damerau_levenshtein(name_compact_l, name_compact_r) <= 1)"
    )
    # Cheap necessary condition first: CASE evaluates the costly edit distance only
    # where it holds (equal-length strings within distance 2 differ in <= 4 places).
    near = (
        "(CASE WHEN length(nik_l) = length(nik_r) THEN hamming(nik_l, nik_r) <= 4 "
        "ELSE abs(length(nik_l) - length(nik_r)) <= 2 END)"
    )
    nik1 = f"{near} AND damerau_levenshtein(nik_l, nik_r) <= 1"
    nik2 = f"{near} AND damerau_levenshtein(nik_l, nik_r) <= 2"
    nik_null = "(nik_l IS NULL OR nik_r IS NULL)"
    same_date = "birth_date_l = birth_date_r"
    swapped = (
        "day(birth_date_l) = month(birth_date_r) AND month(birth_date_l) = day(birth_date_r)"
        " AND year(birth_date_l) = year(birth_date_r)"
    )
    days = "abs(date_diff('day', birth_date_l, birth_date_r))"
    return [
        {
            "output_column_name": "name",
            "comparison_description": "Normalised name",
            "comparison_levels": [
                _level("name_norm_l IS NULL OR name_norm_r IS NULL", "name is NULL", null=True),
                _level("name_norm_l = name_norm_r", "Exact match on normalised name"),
                _level("name_compact_l = name_compact_r", "Exact match on compact name"),
                _level("name_sorted_l = name_sorted_r", "Same words in another order"),
                _level(
                    f"{jw_norm} >= 0.92 OR {jw_compact} >= 0.92 OR {jw_sorted} >= 0.92",
                    "Jaro-Winkler >= 0.92",
                ),
                _level(
                    f"{jw_norm} >= 0.85 OR {jw_compact} >= 0.85 OR {jw_sorted} >= 0.85"
                    f" OR {one_edit_short}",
                    "Jaro-Winkler >= 0.85, or a short name one edit away",
                ),
                _level(
                    "list_has_all(string_split(name_norm_l, ' '), string_split(name_norm_r, ' '))"
                    " OR list_has_all(string_split(name_norm_r, ' '), "
                    "string_split(name_norm_l, ' '))",
                    "Every word of one name in the other (a dropped word, a mononym)",
                ),
                _level(
                    "length(name_long_l) >= 4 AND name_long_l = name_long_r"
                    " AND left(name_norm_l, 1) = left(name_norm_r, 1)",
                    "Same longest word (initials)",
                ),
                _else(),
            ],
        },
        {
            "output_column_name": "birth_nik",
            "comparison_description": "Birth date and NIK",
            "comparison_levels": [
                _level(
                    f"(birth_date_l IS NULL OR birth_date_r IS NULL) AND {nik_null}",
                    "birth date and NIK are NULL",
                    null=True,
                ),
                _level("nik_l = nik_r", "Exact match on NIK"),
                _level(f"{same_date} AND {nik1}", "Same birth date, NIK Damerau-Levenshtein <= 1"),
                _level(f"{same_date} AND {nik2}", "Same birth date, NIK Damerau-Levenshtein <= 2"),
                _level(nik2, "Other birth date, NIK Damerau-Levenshtein <= 2"),
                _level(f"{same_date} AND {nik_null}", "Same birth date, NIK NULL"),
                _level(same_date, "Same birth date, other NIK"),
                _level(swapped, "Day and month swapped"),
                _level(f"{days} <= 3", "Birth dates within 3 days"),
                _level("year(birth_date_l) = year(birth_date_r)", "Same birth year"),
                _else(),
            ],
        },
        {
            "output_column_name": "sex",
            "comparison_description": "Sex",
            "comparison_levels": [
                _level("sex_l IS NULL OR sex_r IS NULL", "sex is NULL", null=True),
                _level("sex_l = sex_r", "Same sex"),
                _else(),
            ],
        },
        {
            "output_column_name": "kk",
            "comparison_description": "Family card number (KK)",
            "comparison_levels": [
                _level("kk_l IS NULL OR kk_r IS NULL", "KK is NULL", null=True),
                _level("kk_l = kk_r", "Same KK"),
                _else(),
            ],
        },
        {
            "output_column_name": "village",
            "comparison_description": "Village code",
            "comparison_levels": [
                _level("village_l IS NULL OR village_r IS NULL", "village is NULL", null=True),
                _level("village_l = village_r", "Same village"),
                _level("district_l = district_r", "Same district"),
                _else(),
            ],
        },
    ]


# Rules whose pairs mix matches and non-matches, for expectation maximisation.
TRAINING_BLOCKING = (("birth_date",), ("name_compact",))
# Near-certain matches, for the prior.
_PRIOR_RULES = (("name_compact", "birth_date", "sex"), ("nik", "birth_year"))


def _settings(seed: int, capped: list[int] | None = None) -> Any:
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=_comparisons(),
        blocking_rules_to_generate_predictions=blocking.prediction_rules(capped or []),
        retain_matching_columns=True,  # keeps gamma_name for the accept rule
        retain_intermediate_calculation_columns=False,
        max_iterations=25,
        em_convergence=1e-4,
        linker_uid=f"pesiar_stage2_seed{seed}",
    )


def _parameters(model: dict[str, Any]) -> dict[str, Any]:
    """Per comparison, the m and u of each level (for the run's metadata)."""
    summary: dict[str, Any] = {
        "probability_two_random_records_match": model.get("probability_two_random_records_match"),
        "comparisons": {},
    }
    for comparison in model["comparisons"]:
        levels = []
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            levels.append(
                {
                    "label": level.get("label_for_charts"),
                    "m": level.get("m_probability"),
                    "u": level.get("u_probability"),
                }
            )
        summary["comparisons"][comparison["output_column_name"]] = levels
    return summary


def _resolve_one_to_one(
    con: duckdb.DuckDBPyConnection, predictions: str, upper: float, lower: float
) -> None:
    """Greedy one-to-one into the `prob_links` table: accept band first, then by
    descending match weight.

    A pair is accepted when its probability reaches `upper` and the names agree at
    least at the weakest similarity level: when everything but the name agrees (twins,
    same-day births sharing a family card) the model's evidence is not independent,
    so such pairs go to review instead. Repeatedly takes every pair that is the best
    remaining pair of both its resident and its participant (ties broken by rid, then
    pid); with this strict order that is exactly the global greedy assignment.
    """
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_CANDIDATES} AS
        SELECT
            CASE WHEN source_dataset_l = '{_LEFT_NAME}' THEN unique_id_l ELSE unique_id_r END
                AS rid,
            CASE WHEN source_dataset_l = '{_LEFT_NAME}' THEN unique_id_r ELSE unique_id_l END
                AS pid,
            match_probability,
            match_weight,
            match_probability >= {upper} AND gamma_name > 0 AS accept,
            round(match_weight, 9) AS w
        FROM {predictions}
        WHERE match_probability >= {lower}
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
    """
    from splink import DuckDBAPI, Linker

    if not 0 < lower <= min(upper, 1):
        # upper above 1 is allowed: nothing is accepted without review.
        raise ValueError(f"need 0 < lower <= upper, got lower={lower}, upper={upper}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "model.json"
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    con.execute(_prepare_sql(residents, "rid", _LEFT))
    con.execute(_prepare_sql(participants, "pid", _RIGHT))
    n_left = con.execute(f"SELECT count(*) FROM {_LEFT}").fetchall()[0][0]
    n_right = con.execute(f"SELECT count(*) FROM {_RIGHT}").fetchall()[0][0]
    seconds["prepare"] = time.perf_counter() - started

    if not n_left or not n_right:
        _empty_output(con)
        model_path.write_text(json.dumps({"empty": True}))
        _drop(con, (_LEFT, _RIGHT))
        return ProbabilisticResult(
            0, 0, 0, seconds, model_path, {}, {"path": "nothing to link"}, {}
        )

    started = time.perf_counter()
    blocks = blocking.cap_blocks(con, _LEFT, _RIGHT)
    seconds["count"] = time.perf_counter() - started
    with _quiet_splink():
        db_api = DuckDBAPI(connection=con)
        left = db_api.register(_LEFT, dataset_display_name=_LEFT_NAME)
        right = db_api.register(_RIGHT, dataset_display_name=_RIGHT_NAME)
        linker = Linker([left, right], _settings(seed, blocks["capped"]), log_level=None)
        try:
            started = time.perf_counter()
            record = _train_or_reuse(con, linker, n_left, n_right, seed, reference, retrain)
            model = linker.misc.save_model_to_json(str(model_path), overwrite=True)
            seconds["train"] = time.perf_counter() - started

            started = time.perf_counter()
            blocked = linker.inference.compute_blocked_pairs_for_predict()
            compared = con.execute(f"SELECT count(*) FROM {blocked.physical_name}").fetchall()
            predictions = linker.inference.predict(
                threshold_match_probability=lower, warning_mode="never"
            )
            seconds["predict"] = time.perf_counter() - started

            started = time.perf_counter()
            _resolve_one_to_one(con, predictions.physical_name, upper, lower)
            seconds["resolve"] = time.perf_counter() - started
        finally:
            linker.table_management.delete_tables_created_by_splink_from_db()
            _drop(con, (_LEFT, _RIGHT))

    links, review = con.execute(
        f"SELECT count(*) FILTER (band = 'accept'), count(*) FILTER (band = 'review') "
        f"FROM {OUTPUT_TABLE}"
    ).fetchall()[0]
    return ProbabilisticResult(
        links=links,
        review=review,
        compared=compared[0][0],
        seconds=seconds,
        model_path=model_path,
        parameters=_parameters(model),
        training={**record.as_dict(), "blocking": blocks},
        sizes={"left": n_left, "right": n_right},
    )


def _train_or_reuse(
    con: duckdb.DuckDBPyConnection,
    linker: Any,
    n_left: int,
    n_right: int,
    seed: int,
    reference: dict[str, Any] | None,
    retrain: bool,
) -> robust.Training:
    """The earlier model of these regions when it still fits, else a fresh training."""
    reference = reference or {}
    previous = robust.load_model(reference.get("model"))
    fallback = robust.model_values(previous)
    record = robust.Training()
    _prior_or_ceiling(linker, n_left, n_right, record)
    if previous is not None and not retrain and not robust.drifted(reference, n_left, n_right):
        robust.apply_model(linker, fallback)
        robust.settle(linker, fallback, record)
        record.path = "reused"
        return record
    if previous is not None and retrain:
        record.notes.append("retrained on request")
    _train(con, linker, n_left, n_right, seed, record)
    robust.settle(linker, fallback, record)
    if not record.em_sessions:
        record.path = "last model" if previous is not None else "priors"
    elif record.fixed_levels:
        record.path = "partly fixed"
    return record


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:300]


def _prior_or_ceiling(linker: Any, n_left: int, n_right: int, record: robust.Training) -> None:
    try:
        _estimate_prior(linker, n_left, n_right)
    except Exception as exc:  # the ceiling is a sound prior
        record.notes.append(f"prior from the one-to-one ceiling ({_one_line(exc)})")
        linker._settings_obj._probability_two_random_records_match = 1 / max(n_left, n_right)


def _train(
    con: duckdb.DuckDBPyConnection,
    linker: Any,
    n_left: int,
    n_right: int,
    seed: int,
    record: robust.Training,
) -> None:
    """u by random sampling (seeded), then m by EM on each training block; a step that
    cannot run on these data is noted in `record` and left to the fallback."""
    from splink import block_on

    try:
        linker.training.estimate_u_using_random_sampling(
            max_pairs=min(U_MAX_PAIRS, float(n_left) * n_right), seed=seed
        )
    except Exception as exc:  # u then comes from the fallback
        record.notes.append(f"u not estimated ({_one_line(exc)})")
    if min(n_left, n_right) < robust.MIN_EM_RECORDS:
        record.notes.append(
            f"EM skipped: {min(n_left, n_right)} leftover records "
            f"(fewer than {robust.MIN_EM_RECORDS})"
        )
        return
    with robust.floored_em():
        for cols in TRAINING_BLOCKING:
            pairs = _count_pairs(con, cols)
            if pairs < robust.MIN_EM_PAIRS:
                record.notes.append(
                    f"EM on {'+'.join(cols)} skipped: {pairs} pairs "
                    f"(fewer than {robust.MIN_EM_PAIRS})"
                )
                continue
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*cols),
                    estimate_without_term_frequencies=True,
                    max_pairs=EM_MAX_PAIRS if pairs > EM_MAX_PAIRS else None,
                )
            except Exception as exc:  # the levels fall back instead
                record.notes.append(f"EM on {'+'.join(cols)} failed ({_one_line(exc)})")
                continue
            record.em_sessions += 1


def _count_pairs(con: duckdb.DuckDBPyConnection, columns: tuple[str, ...]) -> int:
    """Pairs an equi-join of the two prepared tables on `columns` produces."""
    keys = ", ".join(columns)
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    return con.execute(f"""
        SELECT coalesce(sum(l.n * r.n), 0)::BIGINT FROM
            (SELECT {keys}, count(*) AS n FROM {_LEFT} WHERE {not_null} GROUP BY ALL) l
            JOIN (SELECT {keys}, count(*) AS n FROM {_RIGHT} WHERE {not_null} GROUP BY ALL) r
            USING ({keys})
    """).fetchall()[0][0]


def _estimate_prior(linker: Any, n_left: int, n_right: int) -> None:
    """Prior match probability, from near-certain rules, capped by one-to-one linkage:
    at most min(n_left, n_right) of the n_left * n_right pairs match."""
    from splink import block_on

    con = getattr(linker._db_api, "duckdb_con", None)  # None on Spark: nothing left behind
    had_view = con is None or _exists(con, _SPLINK_COUNT_VIEW)
    # ValueError: the rules found more pairs than the recall allows; the cap decides.
    with suppress(ValueError):
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*cols) for cols in _PRIOR_RULES], recall=_PRIOR_RECALL
        )
    if not had_view and _exists(con, _SPLINK_COUNT_VIEW):
        con.unregister(_SPLINK_COUNT_VIEW)  # Splink's counting leaves it registered
    settings = linker._settings_obj
    estimate = settings._probability_two_random_records_match
    ceiling = 1 / max(n_left, n_right)
    settings._probability_two_random_records_match = (
        min(estimate, ceiling) if estimate and estimate > 0 else ceiling
    )


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


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM (SELECT table_name AS n FROM duckdb_tables() "
            "UNION ALL SELECT view_name FROM duckdb_views()) WHERE n = ?",
            [name],
        ).fetchall()[0][0]
    )


def _drop(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> None:
    for table in tables:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def evaluate(
    con: duckdb.DuckDBPyConnection, truth: str, links: str = OUTPUT_TABLE
) -> dict[str, float]:
    """Precision and recall of accepted links against `truth(rid, pid)`, the true pairs.

    `truth` should hold only the true pairs whose two records were both input to
    stage 2; precision counts every accepted link, recall every true pair.
    """
    accepted, correct, true_pairs, review, review_correct = con.execute(f"""
        SELECT
            (SELECT count(*) FROM {links} WHERE band = 'accept'),
            (SELECT count(*) FROM {links} l JOIN {truth} t USING (rid, pid)
                WHERE l.band = 'accept'),
            (SELECT count(*) FROM {truth}),
            (SELECT count(*) FROM {links} WHERE band = 'review'),
            (SELECT count(*) FROM {links} l JOIN {truth} t USING (rid, pid)
                WHERE l.band = 'review')
    """).fetchall()[0]
    return {
        "accepted": accepted,
        "correct": correct,
        "true_pairs": true_pairs,
        "precision": correct / accepted if accepted else 1.0,
        "recall": correct / true_pairs if true_pairs else 1.0,
        "review": review,
        "review_correct": review_correct,
    }

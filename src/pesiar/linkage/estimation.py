"""The stage-2 model with Splink: trained on the leftovers, or an earlier one reused.

u comes from random pairs (seeded), m from expectation maximisation (EM) on two training
blocks, the prior match probability from near-certain rules under the one-to-one ceiling;
whatever the data cannot estimate falls back as `training` describes.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import duckdb

from pesiar.linkage import training as robust

# Random pairs sampled to estimate u. Levels rarer than about 1 in 10^5 among random pairs
# (an exact NIK, a NIK one digit off on the same date) are seen too seldom at any affordable
# sample and are fixed from the fallback model instead (`training.settle`); 1e5 pairs give a
# stable u to every name and date level at a tenth of the cost of 1e6.
U_MAX_PAIRS = 1e5
# The sample in one pass per comparison. Splink's default (a probe, then 10 chunks until
# every level is seen 100 times) ends early only for comparisons without rare levels, and
# runs 45 small queries where one per comparison does (training at 150,000 hard residents:
# 2.3 s to 1.2 s).
U_CHUNKS = 1
# Pairs (at most, sampled deterministically) per expectation-maximisation session.
EM_MAX_PAIRS = 2e5
# Rules that admit (almost) only true matches, and the share of all matches they find:
# used to estimate the prior probability that two random records match.
_PRIOR_RECALL = 0.8
# A view Splink's estimate of the prior registers on the connection and leaves behind.
_SPLINK_COUNT_VIEW = "result_df"
TRAINING_BLOCKING = (("birth_date",), ("name_compact",))
# Near-certain matches, for the prior.
_PRIOR_RULES = (("name_compact", "birth_date", "sex"), ("nik", "birth_year"))


def parameters(model: dict[str, Any]) -> dict[str, Any]:
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


def train_or_reuse(
    con: duckdb.DuckDBPyConnection,
    linker: Any,
    tables: tuple[str, str],
    n_left: int,
    n_right: int,
    seed: int,
    reference: dict[str, Any] | None,
    retrain: bool,
) -> robust.Training:
    """The earlier model of these regions when it still fits, else a fresh training on
    `tables` (the prepared residents and participants)."""
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
    _train(con, linker, tables, n_left, n_right, seed, record)
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
    tables: tuple[str, str],
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
            max_pairs=min(U_MAX_PAIRS, float(n_left) * n_right), seed=seed, num_chunks=U_CHUNKS
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
            pairs = _count_pairs(con, *tables, cols)
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


def _count_pairs(
    con: duckdb.DuckDBPyConnection, left: str, right: str, columns: tuple[str, ...]
) -> int:
    """Pairs an equi-join of the two prepared tables on `columns` produces."""
    keys = ", ".join(columns)
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    return con.execute(f"""
        SELECT coalesce(sum(l.n * r.n), 0)::BIGINT FROM
            (SELECT {keys}, count(*) AS n FROM {left} WHERE {not_null} GROUP BY ALL) l
            JOIN (SELECT {keys}, count(*) AS n FROM {right} WHERE {not_null} GROUP BY ALL) r
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


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM (SELECT table_name AS n FROM duckdb_tables() "
            "UNION ALL SELECT view_name FROM duckdb_views()) WHERE n = ?",
            [name],
        ).fetchall()[0][0]
    )

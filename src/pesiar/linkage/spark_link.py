"""Stage 2 on Spark: the same Splink model as on DuckDB, on Splink's Spark backend.

The records are prepared, the big blocks capped, the model trained (or reused) and the pairs
resolved one to one by the very SQL and functions of `probabilistic` and `blocking`, run
through the `SparkConnection`; only the comparison levels are translated to Spark SQL (their
string similarities are the Java functions Splink ships).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pesiar.linkage import blocking
from pesiar.linkage import probabilistic as prob
from pesiar.linkage.spark import SparkConnection
from pesiar.linkage.spark_sql import duckdb_expression


def spark_settings(seed: int, capped: list[int]) -> Any:
    """Stage 2's settings with every comparison level's condition in Spark SQL."""
    creator = prob._settings(seed, capped)
    comparisons = []
    for comparison in prob._comparisons():
        levels = []
        for level in comparison["comparison_levels"]:
            condition = level["sql_condition"]
            if condition != "ELSE":
                level = {**level, "sql_condition": duckdb_expression(condition)}
            levels.append(level)
        comparisons.append({**comparison, "comparison_levels": levels})
    creator.comparisons = comparisons
    return creator


def link_probabilistic(
    con: SparkConnection,
    residents: str,
    participants: str,
    *,
    out_dir: Path,
    upper: float = 0.95,
    lower: float = 0.5,
    seed: int = 1,
    reference: dict[str, Any] | None = None,
    retrain: bool = False,
) -> prob.ProbabilisticResult:
    """`probabilistic.link_probabilistic` on Spark: same inputs, table `prob_links` and
    model.json."""
    from splink import Linker
    from splink.backends.spark import SparkAPI

    if not 0 < lower <= min(upper, 1):
        raise ValueError(f"need 0 < lower <= upper, got lower={lower}, upper={upper}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "model.json"
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    con.execute(prob._prepare_sql(residents, "rid", prob._LEFT))
    con.execute(prob._prepare_sql(participants, "pid", prob._RIGHT))
    n_left = con.execute(f"SELECT count(*) FROM {prob._LEFT}").fetchall()[0][0]
    n_right = con.execute(f"SELECT count(*) FROM {prob._RIGHT}").fetchall()[0][0]
    seconds["prepare"] = time.perf_counter() - started
    if not n_left or not n_right:
        prob._empty_output(con)
        model_path.write_text(json.dumps({"empty": True}))
        prob._drop(con, (prob._LEFT, prob._RIGHT))
        return prob.ProbabilisticResult(
            0, 0, 0, seconds, model_path, {}, {"path": "nothing to link"}, {}
        )

    started = time.perf_counter()
    blocks = blocking.cap_blocks(con, prob._LEFT, prob._RIGHT)
    seconds["count"] = time.perf_counter() - started
    with prob._quiet_splink():
        db_api = SparkAPI(spark_session=con.spark, register_udfs_automatically=False)
        left = db_api.register(prob._LEFT, dataset_display_name=prob._LEFT_NAME)
        right = db_api.register(prob._RIGHT, dataset_display_name=prob._RIGHT_NAME)
        linker = Linker([left, right], spark_settings(seed, blocks["capped"]), log_level=None)
        try:
            started = time.perf_counter()
            record = prob._train_or_reuse(con, linker, n_left, n_right, seed, reference, retrain)
            model = linker.misc.save_model_to_json(str(model_path), overwrite=True)
            seconds["train"] = time.perf_counter() - started

            started = time.perf_counter()
            blocked = linker.inference.compute_blocked_pairs_for_predict()
            compared = con.frame(blocked.physical_name).count()
            predictions = linker.inference.predict(
                threshold_match_probability=lower, warning_mode="never"
            )
            seconds["predict"] = time.perf_counter() - started

            started = time.perf_counter()
            prob._resolve_one_to_one(con, predictions.physical_name, upper, lower)
            seconds["resolve"] = time.perf_counter() - started
        finally:
            linker.table_management.delete_tables_created_by_splink_from_db()
            prob._drop(con, (prob._LEFT, prob._RIGHT))

    links, review = con.execute(
        f"SELECT count(*) FILTER (band = 'accept'), count(*) FILTER (band = 'review') "
        f"FROM {prob.OUTPUT_TABLE}"
    ).fetchall()[0]
    return prob.ProbabilisticResult(
        links=links,
        review=review,
        compared=compared,
        seconds=seconds,
        model_path=model_path,
        parameters=prob._parameters(model),
        training={**record.as_dict(), "blocking": blocks},
        sizes={"left": n_left, "right": n_right},
    )

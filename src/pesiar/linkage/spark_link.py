"""Stage 2 on Spark: the same Splink model as on DuckDB, on Splink's Spark backend.

`probabilistic.link_probabilistic` runs unchanged on a `SparkConnection`: the records are
prepared, the big blocks capped, the name frequencies counted, the model trained (or reused)
and the pairs resolved one to one by the very SQL of `comparisons`, `blocking`, `estimation`
and `probabilistic`, translated as any other statement. Only two things differ, given here:
Splink's backend, and the comparison levels in Spark SQL (their string similarities are the
Java functions Splink ships in its jar).
"""

from __future__ import annotations

from typing import Any

from pesiar.linkage.spark_sql import duckdb_expression


def splink_api(spark: Any) -> Any:
    from splink.backends.spark import SparkAPI

    return SparkAPI(spark_session=spark, register_udfs_automatically=False)


def spark_settings(creator: Any) -> Any:
    """Stage 2's settings with every comparison level's condition in Spark SQL."""
    comparisons = []
    for comparison in creator.comparisons:
        levels = []
        for level in comparison["comparison_levels"]:
            condition = level["sql_condition"]
            if condition != "ELSE":
                level = {**level, "sql_condition": duckdb_expression(condition)}
            levels.append(level)
        comparisons.append({**comparison, "comparison_levels": levels})
    creator.comparisons = comparisons
    return creator

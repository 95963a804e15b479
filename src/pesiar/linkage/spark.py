"""The map on Spark: the pipeline's steps on a Spark session instead of a DuckDB connection.

`SparkConnection` answers the part of DuckDB's connection the steps use (`execute`,
`executemany`, `fetchall`, `description`), so the steps of `pesiar.linkage.pipeline` run
unchanged: each statement is translated to Spark SQL (`spark_sql`), every table a step
creates is written to Parquet in the run's temporary folder and read back (which also cuts
the plan's lineage, so loops such as the one-to-one resolution stay cheap to plan), and
`COPY ... TO` writes one Parquet file as DuckDB does. Stage 2 runs on Splink's Spark backend
with the same comparisons, blocking and training as on DuckDB.

Chosen with `PESIAR_ENGINE=spark` (settings.PESIAR["ENGINE"]) or `pesiar map --engine spark
--spark-master URL`; the session is kept for the process, so later runs start at once.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from sqlglot import exp

from pesiar.linkage import spark_sql

# Views a connection creates carry this prefix plus the table's name.
_PARQUET_VIEW = "__pesiar_parquet_"


def java_missing() -> str | None:
    """Why Spark cannot start here (no Java), or None."""
    if shutil.which("java") is None and not _java_home():
        return "Spark needs Java 17 or later (`java` not found and JAVA_HOME not set)"
    return None


def _java_home() -> bool:
    import os

    home = os.environ.get("JAVA_HOME")
    return bool(home) and (Path(home) / "bin" / "java").exists()


def session(master: str | None = None) -> Any:
    """The process's Spark session (started on first use) with Splink's similarity
    functions, DuckDB's NULL-on-error arithmetic (ANSI off) and dates in UTC."""
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DoubleType
    from splink.backends.spark import similarity_jar_location

    conf = settings.PESIAR["SPARK"]
    builder = SparkSession.builder.master(master or conf["MASTER"]).appName("pesiar-map")
    for key, value in {
        "spark.jars": similarity_jar_location(),
        "spark.driver.memory": conf["DRIVER_MEMORY"],
        "spark.sql.shuffle.partitions": str(conf["PARTITIONS"]),
        "spark.sql.ansi.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.compression.codec": "zstd",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for name, java_class in (
        ("jaro_winkler", "uk.gov.moj.dash.linkage.JaroWinklerSimilarity"),
        ("damerau_levenshtein", "uk.gov.moj.dash.linkage.LevDamerauDistance"),
    ):
        spark.udf.registerJavaFunction(name, java_class, DoubleType())
    return spark


def connect(temp_dir: Path, master: str | None = None) -> SparkConnection:
    """A connection for one map run; its tables live in `temp_dir`."""
    return SparkConnection(session(master), Path(temp_dir))


class SparkConnection:
    """DuckDB's connection interface, as far as the map's steps use it, over Spark."""

    def __init__(self, spark: Any, folder: Path) -> None:
        self.spark = spark
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        spark.sparkContext.setCheckpointDir(str(folder / "checkpoints"))
        self.tables: dict[str, Any] = {}
        self.parquet: dict[str, str] = {}
        self._rows: list[tuple] = []
        self.description: list[tuple] | None = None
        self._count = itertools.count()

    # DuckDB's interface -------------------------------------------------------------
    def execute(self, sql: str, parameters: list | tuple | None = None) -> SparkConnection:
        for tree in spark_sql.parse(sql):
            self._statement(_bind(tree, parameters) if parameters else tree)
        return self

    def executemany(self, sql: str, rows: list[tuple]) -> SparkConnection:
        """`INSERT INTO table VALUES (?, ..., literal, ...)` for every row of `rows`."""
        (tree,) = spark_sql.parse(sql)
        if not isinstance(tree, exp.Insert) or not isinstance(tree.expression, exp.Values):
            raise ValueError("executemany runs INSERT ... VALUES only")
        template = tree.expression.expressions[0].expressions
        records = []
        for row in rows:
            values = iter(row)
            records.append(
                tuple(
                    next(values) if isinstance(e, exp.Placeholder) else e.to_py() for e in template
                )
            )
        name = tree.this.name
        target = self.tables[name]
        self._replace(name, target.union(self.spark.createDataFrame(records, target.schema)))
        return self

    def splink_api(self) -> Any:
        """Splink's backend on this session (stage 2: see `spark_link`)."""
        from pesiar.linkage.spark_link import splink_api

        return splink_api(self.spark)

    def splink_settings(self, creator: Any) -> Any:
        from pesiar.linkage.spark_link import spark_settings

        return spark_settings(creator)

    def fetchall(self) -> list[tuple]:
        return self._rows

    def close(self) -> None:
        for name in [*self.tables, *self.parquet.values()]:
            self.spark.catalog.dropTempView(name)
        self.tables.clear()

    # Spark's side ---------------------------------------------------------------------
    def frame(self, name: str) -> Any:
        """A table (or any view of the session, e.g. Splink's) as a DataFrame."""
        return self.tables.get(name) or self.spark.table(name)

    def sql(self, tree: exp.Expression) -> Any:
        return self.spark.sql(spark_sql.spark_sql(tree, self._parquet_view, self._columns))

    def _statement(self, tree: exp.Expression) -> None:
        self._rows, self.description = [], None
        if isinstance(tree, exp.Create):
            self._create(tree)
        elif isinstance(tree, exp.Drop):
            for table in tree.args.get("tables") or [tree.this]:
                self._drop(table.name)
        elif isinstance(tree, exp.Insert):
            name = tree.this.name
            target = self.tables[name]
            added = self.sql(tree.expression).toDF(*target.columns)
            added = added.select(*[added[f.name].cast(f.dataType) for f in target.schema.fields])
            self._replace(name, target.union(added))
        elif isinstance(tree, exp.Delete):
            self._delete(tree)
        elif isinstance(tree, exp.Copy):
            self._copy(tree)
        elif isinstance(tree, exp.Describe):
            frame = self.frame(tree.this.name)
            self._rows = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]
        else:
            frame = self.sql(tree)
            self.description = [(name,) for name in frame.columns]
            self._rows = [tuple(row) for row in frame.collect()]

    def _create(self, tree: exp.Create) -> None:
        target = tree.this
        if isinstance(target, exp.Schema):  # CREATE TABLE t (column TYPE, ...)
            ddl = ", ".join(
                f"{c.name} {c.args['kind'].sql(dialect='spark')}" for c in target.expressions
            )
            self._replace(target.this.name, self.spark.createDataFrame([], ddl))
            return
        query = tree.expression
        if tree.args.get("kind") == "VIEW":  # a view is read where it points, not copied
            frame = self.sql(query)
            frame.createOrReplaceTempView(target.name)
            self.tables[target.name] = frame
            return
        if isinstance(query, exp.Select) and query.args.get("order"):
            query = query.copy()
            query.set("order", None)  # a table has no order (DuckDB's is for its own reads)
        self._replace(target.name, self.sql(query))

    def _delete(self, tree: exp.Delete) -> None:
        name = tree.this.name
        where = tree.args["where"].this
        keep = exp.select("*").from_(name).where(exp.not_(exp.func("coalesce", where, "false")))
        self._replace(name, self.sql(keep))

    def _copy(self, tree: exp.Copy) -> None:
        source = tree.this
        if isinstance(source, exp.Table):
            frame = self.frame(source.name)
        else:
            frame = self.sql(source.this if isinstance(source, exp.Subquery) else source)
        (path,) = [f.name for f in tree.args["files"]]
        write_parquet(frame, Path(path), self.folder)

    def _replace(self, name: str, frame: Any) -> None:
        """Store `frame` as table `name` (written to Parquet, read back, viewed by name)."""
        path = self.folder / "tables" / f"{name}-{next(self._count)}"
        frame.write.mode("overwrite").parquet(str(path))
        old = self.tables.get(name)
        self.tables[name] = self.spark.read.parquet(str(path))
        self.tables[name].createOrReplaceTempView(name)
        if old is not None:
            self._forget(old)

    def _drop(self, name: str) -> None:
        frame = self.tables.pop(name, None)
        self.spark.catalog.dropTempView(name)
        if frame is not None:
            self._forget(frame)

    def _forget(self, frame: Any) -> None:
        for path in frame.inputFiles():
            folder = Path(path.removeprefix("file:")).parent
            if folder.is_relative_to(self.folder):
                shutil.rmtree(folder, ignore_errors=True)
                break

    def _parquet_view(self, path: str) -> str:
        if path not in self.parquet:
            view = f"{_PARQUET_VIEW}{uuid.uuid4().hex[:8]}"
            self.spark.read.parquet(path).createOrReplaceTempView(view)
            self.parquet[path] = view
        return self.parquet[path]

    def _columns(self, name: str) -> list[str]:
        return self.frame(name).columns


def _bind(tree: exp.Expression, parameters: list | tuple) -> exp.Expression:
    """The `?` placeholders of `tree` replaced by `parameters`, in order."""
    values = iter(parameters)
    return tree.transform(
        lambda n: exp.convert(next(values)) if isinstance(n, exp.Placeholder) else n
    )


def write_parquet(frame: Any, path: Path, scratch: Path) -> None:
    """`frame` as the single Parquet file `path` (zstd), as DuckDB's COPY writes it."""
    folder = scratch / f"copy-{uuid.uuid4().hex[:8]}"
    frame.coalesce(1).write.mode("overwrite").parquet(str(folder))
    (part,) = sorted(folder.glob("part-*.parquet"))
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(part), str(path))
    shutil.rmtree(folder, ignore_errors=True)

"""Where the map runs and how it fails: the engine (DuckDB by default, or a Spark session)
and the errors the map raises, with the one line officers are shown."""

from pathlib import Path
from typing import Any

from django.conf import settings

from pesiar.linkage.models import LinkRun
from pesiar.ops.duck import connect

ENGINES = ("duckdb", "spark")


class MapError(ValueError):
    """The map cannot run (e.g. no snapshot for the date)."""


class MapFailed(MapError):
    """A started run failed; the run is stored FAILED with `reason` as its message."""

    def __init__(self, run: LinkRun, reason: str) -> None:
        super().__init__(reason)
        self.run = run


def failure_reason(step: str, exc: BaseException) -> str:
    """One line for officers: the step, the kind of error and its first line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"step {step}: {type(exc).__name__}: {text}"[:500]


def check_engine(engine: str | None) -> str:
    """The engine to run on ("duckdb" or "spark"), or MapError when it cannot run here."""
    engine = engine or settings.PESIAR["ENGINE"]
    if engine not in ENGINES:
        raise MapError(f"unknown engine {engine!r}: use duckdb or spark")
    if engine == "spark":
        from pesiar.linkage.spark import java_missing

        if reason := java_missing():
            raise MapError(reason)
    return engine


def open_engine(engine: str, temp: Path, spark_master: str | None = None) -> Any:
    """The connection the steps run on: DuckDB's (with the map's memory limit), or the Spark
    one that answers alike."""
    if engine == "spark":
        from pesiar.linkage import spark

        return spark.connect(temp, spark_master)
    return connect(temp, settings.PESIAR["MAP_DUCKDB_MEMORY"])

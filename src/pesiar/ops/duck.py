"""The one door to DuckDB: connections with the memory limit and spill folder from settings,
SQL literals for text and paths, and a runner of named steps that times each one.

Every part of Pesiar that reads the registers (import, map, sweep, field, churn) opens its
connection here, so the limits an operator sets (`PESIAR_DUCKDB_MEMORY`, and the map's own
`PESIAR_MAP_DUCKDB_MEMORY`) hold for all of them.
"""

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
from django.conf import settings

Progress = Callable[[str], None]
Step = tuple[str, Callable[[], dict | None]]


def sql_text(text: object) -> str:
    """`text` as a single-quoted SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_path(path: Path | str) -> str:
    """A file or folder path as an SQL string literal (for read_parquet, COPY, SET)."""
    return sql_text(path)


def connect(temp_dir: Path | None = None, memory: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection limited to `memory` (default `PESIAR["DUCKDB_MEMORY"]`); beyond
    it DuckDB spills to `temp_dir` (created when missing) or, without one, to its default
    folder."""
    con = duckdb.connect()
    try:
        limit = memory or settings.PESIAR["DUCKDB_MEMORY"]
        con.execute(f"SET memory_limit = {sql_text(limit)}")
        if temp_dir is not None:
            Path(temp_dir).mkdir(parents=True, exist_ok=True)
            con.execute(f"SET temp_directory = {sql_path(temp_dir)}")
    except BaseException:
        con.close()
        raise
    return con


class Steps:
    """Named steps run in order; each may return counts. Keeps the seconds per step and the
    name of the step running, so that a failure can say where it happened."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.say = progress or (lambda _message: None)
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.current = "start"

    def run(self, steps: Iterable[Step]) -> "Steps":
        for name, step in steps:
            self.one(name, step)
        return self

    def one(self, name: str, step: Callable[[], dict | None]) -> dict | None:
        self.current = name
        self.say(name)
        started = time.perf_counter()
        result = step()
        if result:
            self.counts.update(result)
        self.seconds[name] = round(time.perf_counter() - started, 3)
        return result

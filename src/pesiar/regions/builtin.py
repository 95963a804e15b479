"""The built-in Kemendagri region list, shipped as package data (ODbL 1.0: data/ATTRIBUTION.md)."""

import csv
import gzip
import io
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import NamedTuple

ATTRIBUTION = "Indonesian area data from idn-area-data (ODbL 1.0)"
LEVEL_FILES = {1: "provinces", 2: "regencies", 3: "districts", 4: "villages"}


class RegionRow(NamedTuple):
    code: str
    name: str
    level: int
    parent_code: str | None


def data_dir() -> resources.abc.Traversable:
    return resources.files("pesiar.regions") / "data"


def read_level(level: int) -> Iterator[RegionRow]:
    """Rows of one level of the built-in list, in file order."""
    raw = (data_dir() / f"{LEVEL_FILES[level]}.csv.gz").read_bytes()
    reader = csv.reader(io.StringIO(gzip.decompress(raw).decode("utf-8")))
    next(reader)
    for row in reader:
        if level == 1:
            code, name = row
            yield RegionRow(code, name, 1, None)
        else:
            code, parent, name = row
            yield RegionRow(code, name, level, parent)


@cache
def rows(level: int) -> tuple[RegionRow, ...]:
    return tuple(read_level(level))


@cache
def codes(level: int) -> frozenset[str]:
    """Dotted codes of one level, e.g. codes(3) holds '15.02.05'."""
    return frozenset(row.code for row in rows(level))

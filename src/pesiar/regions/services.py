"""Loading the region tree and answering scope questions by code prefix."""

import csv
import gzip
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from pesiar.regions import builtin, codes
from pesiar.regions.builtin import LEVEL_FILES, RegionRow
from pesiar.regions.codes import is_within, normalise_code
from pesiar.regions.models import Level, Region

# Command-line reports are in English, like the rest of the CLI.
LEVEL_NAMES = {1: "Province", 2: "Regency/City", 3: "District", 4: "Village"}


class RegionFileError(ValueError):
    """A region file that cannot be loaded; the message names file, line and column."""


@dataclass
class LoadReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(sum(self.created.values()) or sum(self.updated.values()))

    def lines(self) -> list[str]:
        out = []
        for level in Level:
            total = self.created[level] + self.updated[level] + self.unchanged[level]
            if total:
                out.append(
                    f"{LEVEL_NAMES[level]}: {total} ({self.created[level]} new, "
                    f"{self.updated[level]} updated, {self.unchanged[level]} unchanged)"
                )
        return out


def read_csv_file(path: Path) -> Iterator[RegionRow]:
    """Rows of a region CSV: columns code,name and optionally level and parent_code
    (or the built-in layout's province_code/regency_code/district_code)."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if "code" not in header or "name" not in header:
        raise RegionFileError(
            f"{path}: line 1: expected columns code,name (and optionally level,parent_code); "
            f"found {','.join(header) or 'nothing'}"
        )
    col = {name: header.index(name) for name in header}
    parent_col = next(
        (
            col[c]
            for c in ("parent_code", "province_code", "regency_code", "district_code")
            if c in col
        ),
        None,
    )
    for lineno, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise RegionFileError(
                f"{path}: line {lineno}: {len(row)} fields where the header has {len(header)}"
            )
        code = normalise_code(row[col["code"]])
        if code is None:
            raise RegionFileError(
                f"{path}: line {lineno}, column code: {row[col['code']]!r} is not a region code "
                "(PP, PP.RR, PP.RR.DD or PP.RR.DD.VVVV, with or without dots)"
            )
        name = row[col["name"]].strip()
        if not name:
            raise RegionFileError(f"{path}: line {lineno}, column name: the name is empty")
        level = codes.level(code)
        if "level" in col and row[col["level"]].strip():
            given = row[col["level"]].strip()
            if given != str(level):
                raise RegionFileError(
                    f"{path}: line {lineno}, column level: {given!r} does not match code "
                    f"{code} (level {level})"
                )
        parent = codes.parent(code)
        if parent_col is not None and row[parent_col].strip():
            given_parent = normalise_code(row[parent_col])
            if given_parent != parent:
                raise RegionFileError(
                    f"{path}: line {lineno}, column {header[parent_col]}: "
                    f"{row[parent_col]!r} is not the parent of {code} (expected {parent})"
                )
        yield RegionRow(code, name, level, parent)


def read_source(source: Path | None) -> Iterator[RegionRow]:
    """The built-in list (source None), one CSV file, or a folder in the four-file layout."""
    if source is None:
        for level in LEVEL_FILES:
            yield from builtin.rows(level)
        return
    if source.is_dir():
        found = False
        for stem in LEVEL_FILES.values():
            for candidate in (source / f"{stem}.csv", source / f"{stem}.csv.gz"):
                if candidate.exists():
                    found = True
                    yield from read_csv_file(candidate)
                    break
        if not found:
            raise RegionFileError(
                f"{source}: no provinces.csv, regencies.csv, districts.csv or villages.csv found"
            )
        return
    if not source.exists():
        raise RegionFileError(f"{source}: no such file or folder")
    yield from read_csv_file(source)


def load_regions(source: Path | None = None, within: str | None = None) -> LoadReport:
    """Insert or update regions from `source` (built-in list when None), idempotently.

    Regions absent from the source are kept: other data hangs on their codes.
    With `within`, only that region and its descendants (and its ancestors, so the tree
    stays whole) are loaded.
    """
    scope = normalise_code(within) if within else None
    if within and scope is None:
        raise RegionFileError(f"--within {within!r} is not a region code")
    incoming: dict[str, RegionRow] = {}
    for row in read_source(source):
        if scope and not (is_within(row.code, scope) or is_within(scope, row.code)):
            continue
        previous = incoming.get(row.code)
        if previous is not None and previous.name != row.name:
            raise RegionFileError(
                f"region {row.code} appears twice with different names: "
                f"{previous.name!r} and {row.name!r}"
            )
        incoming[row.code] = row
    if scope and scope not in incoming:
        raise RegionFileError(f"--within {within}: region {scope} is not in the source")

    existing = {
        code: (name, level, parent)
        for code, name, level, parent in Region.objects.values_list(
            "code", "name", "level", "parent_id"
        )
    }
    missing_parents = sorted(
        {
            row.parent_code
            for row in incoming.values()
            if row.parent_code
            and row.parent_code not in incoming
            and row.parent_code not in existing
        }
    )
    if missing_parents:
        raise RegionFileError(
            f"{len(missing_parents)} parent region(s) are neither in the source nor loaded, "
            f"e.g. {', '.join(missing_parents[:5])}"
        )

    report = LoadReport()
    to_create: list[Region] = []
    to_update: list[Region] = []
    for row in sorted(incoming.values(), key=lambda r: (r.level, r.code)):
        region = Region(code=row.code, name=row.name, level=row.level, parent_id=row.parent_code)
        old = existing.get(row.code)
        if old is None:
            to_create.append(region)
            report.created[row.level] += 1
        elif old != (row.name, row.level, row.parent_code):
            to_update.append(region)
            report.updated[row.level] += 1
        else:
            report.unchanged[row.level] += 1
    with transaction.atomic():
        Region.objects.bulk_create(to_create, batch_size=2000)
        Region.objects.bulk_update(to_update, ["name", "level", "parent"], batch_size=2000)
    return report

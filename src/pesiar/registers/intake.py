"""From a user's file to what the validation reads: the source (CSV, spreadsheet, JSON,
Parquet), the format profile (detected, or named with --format), the column mapping with
the profile's codes, and the layout fixes some formats need (region names matched to codes,
the latest of several measurements of a child).
"""

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from pesiar.registers import profiles
from pesiar.registers.profiles import Profile, ProfileError
from pesiar.registers.schema import REGISTERS, Kind, header_key
from pesiar.registers.sources import (
    Mapping,
    Source,
    SourceError,
    map_columns,
    open_source,
    read_user_mapping,
)

VILLAGE_FROM_NAMES = "__village_from_names"
STUNTED = "__stunted"
STUNTING_Z = -2.0  # TB/U below -2 SD is stunting (WHO, Permenkes 2/2020)


@dataclass
class Intake:
    source: Source
    mapping: Mapping
    profile: Profile | None
    notes: list[str] = field(default_factory=list)
    delimiter: str = ","  # of the file as given (a rewritten copy is comma-separated)

    @property
    def detected(self) -> str:
        return self.profile.label if self.profile else "Pesiar columns"


def prepare(
    kind: Kind,
    path: Path,
    staging: Path,
    *,
    mapping_file: Path | None = None,
    format_name: str | None = None,
    village: str | None = None,
) -> Intake:
    """Open the file, pick its profile and map its columns; raises SourceError."""
    if village:
        village = checked_village(village)
    source = open_json(path, staging) or open_source(path, staging)
    try:
        profile = profiles.named(format_name, kind) if format_name else None
    except ProfileError as exc:
        raise SourceError(f"{path}: {exc}") from exc
    if profile is None and mapping_file is None:
        profile = profiles.detect(kind, source.header)
    notes: list[str] = []
    delimiter = source.delimiter
    if profile is not None and (profile.region_names or profile.latest_measurement):
        source, notes = rewrite(source, profile, staging)
    user_mapping = read_user_mapping(mapping_file, REGISTERS[kind]) if mapping_file else None
    if profile is not None:
        user_mapping = {**profile.mapping(), **(user_mapping or {})}
        if profile.region_names:
            user_mapping[VILLAGE_FROM_NAMES] = "village_code"
        if profile.latest_measurement:
            user_mapping[STUNTED] = "stunted"
    optional = set(profile.optional) if profile else set()
    if village or (profile is not None and profile.needs_village):
        optional.add("village_code")
    try:
        mapping = map_columns(kind, source.header, path, user_mapping, optional=optional)
    except SourceError as exc:
        hint = profiles.nearest(source.header, kind)
        raise SourceError(f"{exc} {hint}".strip()) from exc
    if profile is not None:
        mapping.values = {c: v for c, v in profile.values.items() if c in mapping.columns}
    if village:
        mapping.columns.pop("village_code", None)
        mapping.village_parts.pop("village_code", None)
        mapping.constants["village_code"] = village
    elif (
        profile is not None
        and profile.needs_village
        and "village_code" not in mapping.columns
        and "village_code" not in mapping.village_parts
    ):
        raise SourceError(
            f"{path}: this {profile.label} file does not name its village; give the village "
            "with --village CODE (on the upload page: pick the village)"
        )
    return Intake(source, mapping, profile, notes, delimiter)


def checked_village(code: str) -> str:
    """The village given for a whole file (dotted or 10 digits), checked against the tree."""
    from pesiar.regions.models import Level, Region

    code = code.strip()
    if len(code) == 10 and code.isdigit():
        code = f"{code[:2]}.{code[2:4]}.{code[4:6]}.{code[6:]}"
    if not Region.objects.filter(code=code, level=Level.VILLAGE).exists():
        raise SourceError(
            f"--village {code}: not a village in the region tree (PP.RR.DD.VVVV; "
            "`pesiar regions load` loads the tree)"
        )
    return code


def preview(
    kind: Kind,
    path: Path,
    *,
    mapping_file: Path | None = None,
    format_name: str | None = None,
    village: str | None = None,
) -> dict:
    """What an import of this file would use, before it starts: the profile, which source
    column feeds which register column, the columns ignored and the notes. Raises
    SourceError as the import would."""
    import shutil
    import tempfile

    staging = Path(tempfile.mkdtemp(prefix="pesiar-preview-"))
    try:
        taken = prepare(
            kind,
            path,
            staging,
            mapping_file=mapping_file,
            format_name=format_name,
            village=village,
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {
        "profile": taken.detected,
        "profile_name": taken.profile.name if taken.profile else "",
        "columns": taken.mapping.describe(taken.source.header),
        "ignored": taken.mapping.ignored,
        "notes": taken.notes,
    }


# --- JSON (VClaim / PCare responses) ---------------------------------------------------------


def _records(item: object):
    """The participant records in one JSON value: a response envelope, a list, or a record."""
    if isinstance(item, list):
        for sub in item:
            yield from _records(sub)
        return
    if not isinstance(item, dict):
        return
    for wrapper in ("response", "peserta"):
        if isinstance(item.get(wrapper), dict | list):
            yield from _records(item[wrapper])
            return
    if isinstance(item.get("list"), list):
        yield from _records(item["list"])
        return
    yield item


def _flatten(record: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value is None:
            out[name] = ""
        elif isinstance(value, float) and value.is_integer():
            out[name] = str(int(value))
        else:
            out[name] = str(value)
    return out


def open_json(path: Path, staging: Path) -> Source | None:
    """A JSON or JSON-lines file as CSV (nested keys joined by dots), or None if not JSON."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    with path.open("rb") as fh:
        start = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if start[:1] not in (b"{", b"["):
        return None
    rows: list[tuple[int, dict[str, str]]] = []
    with path.open(encoding="utf-8-sig") as fh:
        text = fh.read()
    try:
        values = [(1, json.loads(text))]
    except json.JSONDecodeError:
        values = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                values.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise SourceError(
                    f"{path}: line {number}, column {exc.colno}: not valid JSON ({exc.msg})"
                ) from exc
    single = len(values) == 1
    for number, value in values:
        for i, record in enumerate(_records(value), start=1):
            rows.append((i if single else number, _flatten(record)))
    if not rows:
        raise SourceError(f"{path}: the JSON holds no participant records")
    header: list[str] = []
    for _n, row in rows:
        header.extend(k for k in row if k not in header)
    out = staging / "source.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["__line", *header])
        for number, row in rows:
            writer.writerow([number, *(row.get(h, "") for h in header)])
    return Source(path, out, "json", header, has_line_column=True)


# --- rewriting: region names, latest measurement ---------------------------------------------

_PREFIXES = re.compile(
    r"^(PROVINSI|PROV|KABUPATEN|KAB|KECAMATAN|KEC|DESA|KELURAHAN|KEL)(?=[^A-Z]|$)[\s.]*"
)


def name_key(name: str) -> str:
    """'Kab. Merangin', 'KABUPATEN MERANGIN' and 'merangin' are one name; 'Kota' is kept."""
    text = _PREFIXES.sub("", name.strip().upper())
    return re.sub(r"[^A-Z0-9]", "", text)


def village_lookup() -> dict[tuple[str, str, str, str], str]:
    """(province, regency, district, village) name keys -> village code, for the regions
    loaded (the deployment's scope)."""
    from pesiar.regions.models import Level, Region

    names = dict(Region.objects.filter(level__lt=Level.VILLAGE).values_list("code", "name"))
    out: dict[tuple[str, str, str, str], str] = {}
    for code, name in Region.objects.filter(level=Level.VILLAGE).values_list("code", "name"):
        parts = code.split(".")
        upper = [name_key(names.get(".".join(parts[:n]), "")) for n in (1, 2, 3)]
        key = (*upper, name_key(name))
        out[key] = code
        out[("", *key[1:])] = code  # files without the province
    return out


def read_rows(source: Source):
    """(line, cells) of a CSV source, with the file's own line numbers."""
    with source.path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=source.delimiter)
        next(reader)
        for number, cells in enumerate(reader, start=2):
            if source.has_line_column:
                number, cells = int(cells[0]), cells[1:]
            if any(c.strip() for c in cells):
                yield number, cells


def _date(text: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def rewrite(source: Source, profile: Profile, staging: Path) -> tuple[Source, list[str]]:
    """A copy of the source with the village code matched from region names and, for
    measurement files, only each child's latest measurement with its stunting flag."""
    keys = [header_key(h) for h in source.header]

    def index(name: str) -> int | None:
        return keys.index(header_key(name)) if header_key(name) in keys else None

    notes: list[str] = []
    rows = list(read_rows(source))
    extra: list[str] = []
    if profile.region_names:
        lookup = village_lookup()
        where = [index(n) for n in profile.region_names]
        unmatched: dict[str, int] = {}
        for _n, cells in rows:
            names = [cells[i] if i is not None and i < len(cells) else "" for i in where]
            key = tuple(name_key(n) for n in names)
            code = lookup.get(key) or lookup.get(("", *key[1:]))
            if code is None:
                shown = " / ".join(n.strip() for n in names)
                unmatched[shown] = unmatched.get(shown, 0) + 1
                code = shown
            cells.append(code)
        extra.append(VILLAGE_FROM_NAMES)
        for shown, count in sorted(unmatched.items()):
            notes.append(f"region names not matched to a village: {shown} ({count} rows)")
    if profile.latest_measurement:
        rows, dropped = latest_measurements(rows, profile, index)
        extra.append(STUNTED)
        if dropped:
            notes.append(f"earlier measurements of the same child left out: {dropped}")
    out = staging / "rewritten.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["__line", *source.header, *extra])
        width = len(source.header)
        for number, cells in rows:
            base, added = cells[:width], cells[len(cells) - len(extra) :]
            writer.writerow([number, *(base + [""] * (width - len(base))), *added])
    header = [*source.header, *extra]
    rewritten = Source(
        source.original, out, source.format, header, encoding=source.encoding, has_line_column=True
    )
    return rewritten, notes


def latest_measurements(rows, profile: Profile, index) -> tuple[list, int]:
    """Each child's latest row (by NIK, else name and birth date), with Ya/Tidak stunting
    from its TB/U z-score; returns the rows and how many earlier ones were left out."""
    reverse = {v: k for k, v in profile.columns.items()}
    col = {name: index(reverse[name]) for name in reverse if index(reverse[name]) is not None}

    def cell(cells, name):
        i = col.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    best: dict[tuple, tuple[int, list, date]] = {}
    for number, cells in rows:
        nik = cell(cells, "child_nik")
        key = (
            ("nik", nik)
            if nik and nik != "0"
            else ("name", cell(cells, "child_name").upper(), cell(cells, "birth_date"))
        )
        measured = _date(cell(cells, "measured_on")) or date.min
        if key not in best or measured >= best[key][2]:
            best[key] = (number, cells, measured)
    kept = sorted((number, cells) for number, cells, _m in best.values())
    for _number, cells in kept:
        try:
            z = float(cell(cells, "height_z").replace(",", "."))
        except ValueError:
            z = None
        cells.append("" if z is None else ("Ya" if z < STUNTING_Z else "Tidak"))
    return kept, len(rows) - len(kept)

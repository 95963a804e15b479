"""Reading what users bring: format, encoding and delimiter detection, the header, and the
mapping of source columns onto a register's canonical columns."""

import codecs
import csv
import io
import mmap
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pesiar.registers import sheets
from pesiar.registers.limits import ImportLimitError, check_uncompressed
from pesiar.registers.schema import REGISTERS, VILLAGE_PARTS, Kind, Register, header_key

DELIMITERS = (",", ";", "\t", "|")
CHUNK = 1 << 24
BLANK_LINE = re.compile(rb"\n\r?\n")


class SourceError(ValueError):
    """A file that cannot be imported; the message names the file, and line and column
    where there is one, and says what to do."""


@dataclass
class Source:
    """A file made ready for DuckDB: a UTF-8 CSV (with a `__line` column when converted
    from XLSX) or a Parquet file, and its header as the user wrote it."""

    original: Path
    path: Path
    format: str  # csv | xls | xlsx | xlsm | ods | parquet | json
    header: list[str]
    delimiter: str = ","
    encoding: str = "utf-8"
    has_line_column: bool = False


@dataclass
class Mapping:
    """Canonical column -> index into the source header (village parts: four indexes)."""

    columns: dict[str, int] = field(default_factory=dict)
    village_parts: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    # A format's own codes, read before the register's vocabulary: canonical -> {code: value}
    # ("" for "no value").
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    # One value for every row (a file of one village that does not name it).
    constants: dict[str, str] = field(default_factory=dict)

    def describe(self, header: list[str]) -> dict[str, str]:
        out = {name: header[i] for name, i in self.columns.items()}
        for name, parts in self.village_parts.items():
            out[name] = "+".join(header[i] for i in parts)
        for name, value in self.constants.items():
            out[name] = f"= {value}"
        return out


def detect_format(path: Path) -> str:
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: the file is empty (0 bytes)")
    with path.open("rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"PAR1"):
        return "parquet"
    return sheets.excel_kind(path, magic) or "csv"


def detect_encoding(path: Path) -> str:
    """utf-8, utf-8-sig (a byte-order mark) or cp1252, read over the whole file."""
    with path.open("rb") as fh:
        encoding = "utf-8-sig" if fh.read(3) == codecs.BOM_UTF8 else "utf-8"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(CHUNK):
                # an ASCII chunk is UTF-8 as it is; decoded only to end a character split
                # at the previous chunk's end
                if not chunk.isascii() or decoder.getstate()[0]:
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return encoding


def transcode(path: Path, encoding: str, out: Path) -> None:
    """Copy `path` to `out` as UTF-8 without a byte-order mark, streaming."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as src, out.open("wb") as dst:
        try:
            while chunk := src.read(CHUNK):
                dst.write(decoder.decode(chunk).encode("utf-8"))
            dst.write(decoder.decode(b"", final=True).encode("utf-8"))
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{path}: bytes that are neither UTF-8 nor Windows-1252 near byte "
                f"{src.tell() - len(chunk) + exc.start}; save the file as UTF-8"
            ) from exc


def sniff_delimiter(sample: str) -> str:
    """The delimiter among , ; tab and | that splits the header into most columns and gives
    the following lines the same count."""
    return sniff_layout(sample)[0]


def sniff_layout(sample: str) -> tuple[str, int]:
    """(delimiter, index of the header line).

    A line that no delimiter splits into two filled cells is a title (e-PPGBM writes one
    above the header); the header is the first line that one does. Among the delimiters that
    split it, the one that gives most following lines its width wins (then the widest). A
    data line further down is never taken for the header, so line numbers stay true.
    """
    lines = sample.splitlines()[: sheets.HEADER_SEARCH_ROWS]
    if not lines:
        return ",", 0
    layouts = []
    for delim in DELIMITERS:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
        at = sheets.find_header(rows)
        if at is not None:
            width = len(rows[at])
            consistent = sum(1 for r in rows[at + 1 :] if len(r) == width)
            layouts.append((at, consistent, width, delim))
    if not layouts:
        return ",", 0
    first = min(at for at, *_rest in layouts)
    _at, _consistent, _width, best = max(
        (layout for layout in layouts if layout[0] == first), key=lambda x: (x[1], x[2])
    )
    return best, first


def has_blank_lines(path: Path) -> bool:
    """Whether an empty line stands between two lines of text. DuckDB's reader skips empty
    lines without counting them, so such a file is read through `skip_title_lines`, which
    keeps every record's own line number. Trailing empty lines do not count."""
    if path.stat().st_size == 0:
        return False
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        end = len(mm)
        while end and mm[end - 1 : end] in (b"\n", b"\r", b" ", b"\t"):
            end -= 1
        # one regular-expression pass: bytes.find stops at every line's end
        return BLANK_LINE.search(mm, 0, end) is not None


def skip_title_lines(path: Path, readable: Path, skip: int, delimiter: str, out: Path) -> None:
    """Copy a CSV without its first `skip` lines and without its empty lines, with each
    record's line number in `__line` (a title above the header, as e-PPGBM exports have)."""
    with (
        readable.open(encoding="utf-8", newline="") as src,
        out.open("w", encoding="utf-8", newline="") as dst,
    ):
        for _ in range(skip):
            src.readline()
        reader = csv.reader(src, delimiter=delimiter)
        writer = csv.writer(dst)
        header = next(reader)
        writer.writerow(["__line", *header])
        # One line per record, as DuckDB numbers them (a line break inside quotes counts
        # once); an empty line counts too, since the user sees it.
        for line, cells in enumerate(reader, start=skip + 2):
            if any(c.strip() for c in cells):
                writer.writerow([line, *cells])


def open_source(path: Path, staging: Path) -> Source:
    """Detect format, encoding and delimiter; convert what DuckDB cannot read as is."""
    fmt = detect_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            header = pq.read_schema(path).names
        except Exception as exc:  # pyarrow raises several types for broken files
            raise SourceError(f"{path}: not a readable Parquet file ({exc})") from exc
        return Source(path, path, "parquet", header)
    if fmt in sheets.EXCEL_KINDS:
        try:
            check_uncompressed(path)  # xlsx, xlsm and ods are zips
        except ImportLimitError as exc:
            raise SourceError(str(exc)) from exc
        out = staging / "source.csv"
        try:
            header, _rows, _sheet = sheets.sheet_to_csv(path, out)
        except sheets.SheetError as exc:
            raise SourceError(str(exc)) from exc
        return Source(path, out, fmt, header, has_line_column=True)

    encoding = detect_encoding(path)
    readable = path
    if encoding != "utf-8":
        readable = staging / "source.csv"
        transcode(path, encoding, readable)
    with readable.open(encoding="utf-8", newline="") as fh:
        sample = fh.read(1 << 16)
    if not sample.strip():
        raise SourceError(f"{path}: the file holds no text (only blanks or line breaks)")
    delimiter, skip = sniff_layout(sample)
    header = next(csv.reader(io.StringIO(sample.split("\n", skip)[-1]), delimiter=delimiter))
    check_header(path, header, lambda i: f"column {i + 1}")
    if skip or has_blank_lines(readable):
        out = staging / "untitled.csv"
        skip_title_lines(path, readable, skip, delimiter, out)
        return Source(path, out, "csv", header, encoding=encoding, has_line_column=True)
    rest = sample.split("\n", 1)[1] if "\n" in sample else ""
    if not rest.strip():
        raise SourceError(
            f"{path}: line 1 is a header ({', '.join(header)}) but no data rows follow"
        )
    return Source(path, readable, "csv", header, delimiter=delimiter, encoding=encoding)


def check_header(path: Path, header: list[str], where) -> None:
    for i, name in enumerate(header):
        if not name.strip():
            raise SourceError(
                f"{path}: line 1, {where(i)}: the header cell is empty. Every column needs a "
                "name; merged header cells must be unmerged"
            )
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        key = header_key(name)
        if key in seen:
            raise SourceError(
                f"{path}: line 1: columns {where(seen[key])} ({header[seen[key]]!r}) and "
                f"{where(i)} ({name!r}) have the same name"
            )
        seen[key] = i


def read_user_mapping(path: Path, register: Register) -> dict[str, str]:
    """A TOML or YAML file mapping source column names to canonical names, either at the top
    level or under a `columns` table: `"NOMOR INDUK" = "nik"`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the mapping file ({exc})") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except Exception as exc:  # tomllib/yaml parse errors name the line
        raise SourceError(f"{path}: not a valid mapping file ({exc})") from exc
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise SourceError(f"{path}: expected pairs of source column = canonical column")
    known = {c.name for c in register.columns} | set(VILLAGE_PARTS)
    for source, canonical in data.items():
        if canonical not in known:
            raise SourceError(
                f"{path}: {source!r} is mapped to {canonical!r}, which is not a column of the "
                f"{register.kind} register ({', '.join(sorted(known))})"
            )
    return data


def map_columns(
    kind: Kind,
    header: list[str],
    file: Path,
    user_mapping: dict[str, str] | None = None,
    optional: set[str] | frozenset[str] = frozenset(),
) -> Mapping:
    """Match the header to the register's canonical columns, or fail naming what is missing."""
    register = REGISTERS[kind]
    keys = [header_key(h) for h in header]
    wanted: dict[str, str] = {}  # header key -> canonical
    for source, canonical in (user_mapping or {}).items():
        wanted[header_key(source)] = canonical
    for column in register.columns:
        for name in (column.name, *column.aliases):
            wanted.setdefault(header_key(name), column.name)
    for part in VILLAGE_PARTS:
        wanted.setdefault(header_key(part), part)

    found: dict[str, int] = {}
    for i, key in enumerate(keys):
        canonical = wanted.get(key)
        if canonical is None:
            continue
        if canonical in found:
            raise SourceError(
                f"{file}: line 1: columns {header[found[canonical]]!r} and {header[i]!r} "
                f"both map to {canonical}; keep one or give a mapping file"
            )
        found[canonical] = i

    mapping = Mapping()
    for column in register.columns:
        if column.name in found:
            mapping.columns[column.name] = found[column.name]
        elif column.type == "village" and all(p in found for p in VILLAGE_PARTS):
            mapping.village_parts[column.name] = tuple(found[p] for p in VILLAGE_PARTS)
    missing = [
        c
        for c in register.columns
        if c.required
        and c.name not in optional
        and c.name not in mapping.columns
        and c.name not in mapping.village_parts
    ]
    if missing:
        expected = "; ".join(
            f"{c.name} (or {', '.join(c.aliases)})" if c.aliases else c.name for c in missing
        )
        if any(c.type == "village" for c in missing):
            expected += "; the village may also come as NO_PROP, NO_KAB, NO_KEC, NO_KEL"
        hint = ""
        if len(header) == 1 and any(d in header[0] for d in "|:"):
            hint = " The file seems to use another delimiter: Pesiar reads , ; tab or |."
        raise SourceError(
            f"{file}: line 1: missing required column(s) for the {kind} register: {expected}. "
            f"Columns found: {', '.join(header)}.{hint} A mapping file (--mapping) can name "
            "other columns."
        )
    used = set(mapping.columns.values()) | {i for p in mapping.village_parts.values() for i in p}
    mapping.ignored = [h for i, h in enumerate(header) if i not in used]
    return mapping

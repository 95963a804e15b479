"""Spreadsheets (.xls, .xlsx, .xlsm, .ods) read with python-calamine and written as the UTF-8
CSV the import reads, with the sheet row number in `__line`.

Layouts as village systems write them:
- sheets that only explain codes (OpenSID's `Kode Data`) are skipped;
- title rows above the header are skipped: the header is the first row that fills two cells
  or more (a title fills one);
- a `###` in column B ends the data (OpenSID's import template), empty rows are skipped;
- a number cell holding an identifier keeps the form that shows what Excel did to it: a whole
  number of 16 digits or more is written with a `.0` tail, so the NIK check can say that
  digits were lost (NIK_EXCEL_PRECISION) instead of importing a wrong number.
"""

import csv
import datetime as dt
from pathlib import Path

from pesiar.registers.schema import header_key

SKIPPED_SHEETS = frozenset({"kodedata", "kode", "keterangan", "petunjuk", "referensi"})
END_MARKER = "###"
HEADER_SEARCH_ROWS = 20
EXCEL_KINDS = ("xls", "xlsx", "xlsm", "ods")


class SheetError(ValueError):
    """A workbook that cannot be read; the message names the file and the cell."""


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_text(value: object) -> str:
    """A cell as text, never repairing a number that lost digits."""
    kind = type(value)
    if kind is str:
        return value
    if kind is float:
        if value.is_integer():
            if abs(value) < 1e15:
                return str(int(value))
            return f"{int(value)}.0"
        return repr(value)
    if kind is int:
        return str(value)
    if value is None:
        return ""
    if kind is bool:
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _filled(cells: list[str]) -> int:
    return sum(1 for c in cells if c.strip())


def find_header(rows: list[list[str]]) -> int | None:
    """Index of the header among the first rows: the first row that fills two cells or more.

    Only rows above it that fill at most one cell (a title, merged or not, or a blank row)
    are skipped, so a header is found where it really is: a data row that happens to be wider
    than the header never takes its place, and line numbers stay true.
    """
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if _filled(row) >= 2:
            return i
    return None


def _check_header(path: Path, header: list[str], number: int) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name.strip():
            raise SheetError(
                f"{path}: line {number}, cell {column_letter(i)}{number}: the header cell is "
                "empty. Every column needs a name; merged header cells must be unmerged"
            )
        key = header_key(name)
        if key in seen:
            j = seen[key]
            raise SheetError(
                f"{path}: line {number}: columns cell {column_letter(j)}{number} "
                f"({header[j]!r}) and cell {column_letter(i)}{number} ({name!r}) have the "
                "same name"
            )
        seen[key] = i


def sheet_to_csv(path: Path, out: Path) -> tuple[list[str], int, str]:
    """Write the first sheet with data as CSV; returns (header, data rows, sheet name)."""
    from python_calamine import CalamineWorkbook

    try:
        with path.open("rb") as fh:
            workbook = CalamineWorkbook.from_filelike(fh)
    except Exception as exc:  # calamine raises its own types for broken files
        raise SheetError(f"{path}: not a readable spreadsheet ({exc})") from exc
    for name in workbook.sheet_names:
        if header_key(name) in SKIPPED_SHEETS:
            continue
        sheet = workbook.get_sheet_by_name(name)
        rows = sheet.iter_rows()
        first: list[list[str]] = []
        for row in rows:
            first.append([cell_text(v) for v in row])
            if len(first) >= HEADER_SEARCH_ROWS:
                break
        at = find_header(first)
        if at is None:
            continue
        header = first[at]
        while header and not header[-1].strip():
            header.pop()
        _check_header(path, header, at + 1)
        count = _write(path, out, header, at, first, rows)
        if count == 0:
            raise SheetError(
                f"{path}: sheet {name!r}, row {at + 1} is a header ({', '.join(header)}) but "
                "no data rows follow"
            )
        return header, count, name
    raise SheetError(f"{path}: the workbook has no data in any sheet")


def _write(path: Path, out: Path, header: list[str], at: int, first, rows) -> int:
    width = len(header)
    count = 0
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["__line", *header])

        def all_rows():
            yield from first[at + 1 :]
            for row in rows:  # most cells are text: no call for those
                yield [v if type(v) is str else cell_text(v) for v in row]

        for number, cells in enumerate(all_rows(), start=at + 2):
            if len(cells) > 1 and cells[1].strip() == END_MARKER:
                break
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                extra = next(i for i in range(width, len(cells)) if cells[i].strip())
                raise SheetError(
                    f"{path}: row {number}, cell {column_letter(extra)}{number}: a value "
                    f"beyond the {width} named columns"
                )
            if len(cells) != width:
                cells = (cells + [""] * width)[:width]
            writer.writerow([number, *cells])
            count += 1
    return count


def excel_kind(path: Path, magic: bytes) -> str | None:
    """xls, xlsx, xlsm or ods from the file's first bytes (and, for zips, its parts)."""
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if not magic.startswith(b"PK\x03\x04"):
        return None
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype").decode("ascii", "replace")
                if "opendocument.spreadsheet" in mimetype:
                    return "ods"
    except zipfile.BadZipFile:
        return "xlsx"  # reported as unreadable by the reader, with its own message
    return "xlsm" if "xl/vbaProject.bin" in names else "xlsx"

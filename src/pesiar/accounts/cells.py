"""Cells that leave Pesiar in a spreadsheet are text, never formulas.

A name, faskes code or note typed by someone (or read from a register) that begins with
`=`, `+`, `-`, `@`, tab or carriage return would be run as a formula by a spreadsheet program
opening the CSV or XLSX (`=HYPERLINK(...)`). Every CSV/XLSX/ODK writer passes its cells
through here: in CSV such a text gets a leading `'`, in XLSX it is written as a string cell.
"""

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value: Any) -> Any:
    """`value` for a CSV cell: text a spreadsheet would read as a formula gets a `'` prefix."""
    return "'" + value if is_formula_like(value) else value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def csv_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {k: csv_cell(v) for k, v in row.items()}


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """`value` for a write-only XLSX sheet: formula-like text as a string cell."""
    if not is_formula_like(value):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def xlsx_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    return [xlsx_cell(sheet, v) for v in values]

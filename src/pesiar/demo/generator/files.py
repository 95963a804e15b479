"""Writing tables the way source agencies deliver them, byte-for-byte reproducibly."""

import io
import os
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FIXED_TIME = datetime(2024, 6, 1)
# openpyxl stamps the save time into docProps/core.xml, whatever the properties say.
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def replace_atomically(path: Path, data_writer) -> None:
    """Write through `data_writer(tmp_path)` to a temporary name, then rename into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    data_writer(tmp)
    os.replace(tmp, path)


def write_csv(table: pa.Table, path: Path, delimiter: str = ",") -> None:
    options = pacsv.WriteOptions(delimiter=delimiter, quoting_style="needed")
    replace_atomically(path, lambda tmp: pacsv.write_csv(table, tmp, write_options=options))


def write_parquet(table: pa.Table, path: Path) -> None:
    replace_atomically(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def write_xlsx(table: pa.Table, path: Path, sheet: str) -> None:
    """An XLSX: string columns become text cells, date columns real date cells."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.creator = "Pesiar"
    ws = wb.create_sheet(sheet)
    ws.append(table.column_names)
    columns = [table.column(name).to_pylist() for name in table.column_names]
    for row in zip(*columns, strict=True):
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    replace_atomically(path, lambda tmp: tmp.write_bytes(_fixed_zip_times(buffer.getvalue())))


def _fixed_zip_times(data: bytes) -> bytes:
    """The same archive with every entry dated FIXED_TIME, so equal input gives equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                data = _MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", data)
            dst.writestr(fixed, data)
    return out.getvalue()


def format_dates(days: pa.Array, fmt: str) -> pa.Array:
    """date32 values as text in `fmt` (nulls stay null)."""
    return pc.strftime(days, format=fmt)

"""Bounds on a register import: upload size, what a compressed file unpacks to, rows read.

Set with PESIAR_MAX_UPLOAD_MB, PESIAR_MAX_UNCOMPRESSED_MB and PESIAR_MAX_ROWS (settings
`PESIAR["IMPORT"]`), as is how long a previewed upload waits (PESIAR_PREVIEW_HOURS). Each
refusal names the file, the limit and the setting that raises it.
"""

import zipfile
from pathlib import Path

from django.conf import settings

MB = 1024 * 1024
DEFAULTS = {
    "MAX_UPLOAD_MB": 200,
    "MAX_UNCOMPRESSED_MB": 2000,
    "MAX_ROWS": 20_000_000,
    "PREVIEW_HOURS": 24,
}


class ImportLimitError(ValueError):
    """A file over one of the import limits; nothing was read into a snapshot."""


def import_limits() -> dict[str, int]:
    return {**DEFAULTS, **settings.PESIAR.get("IMPORT", {})}


def preview_hours() -> float:
    """How long an upload waits for the officer to start its import (PESIAR_PREVIEW_HOURS)."""
    return float(import_limits()["PREVIEW_HOURS"])


def max_upload_bytes() -> int:
    return import_limits()["MAX_UPLOAD_MB"] * MB


def check_uncompressed(path: Path) -> None:
    """Refuse a zip container (XLSX) that unpacks to more than MAX_UNCOMPRESSED_MB, before
    any of it is unpacked."""
    if not zipfile.is_zipfile(path):
        return
    limit = import_limits()["MAX_UNCOMPRESSED_MB"]
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile:
        return  # the reader says what is wrong with it
    if total > limit * MB:
        raise ImportLimitError(
            f"{path}: the workbook unpacks to {total / MB:,.0f} MB, more than the limit of "
            f"{limit:,} MB (PESIAR_MAX_UNCOMPRESSED_MB); split the file or save it as CSV"
        )


def check_rows(path: Path, rows: int) -> None:
    """Refuse a file with more than MAX_ROWS data rows."""
    limit = import_limits()["MAX_ROWS"]
    if rows > limit:
        raise ImportLimitError(
            f"{path}: more than {limit:,} rows, the limit for one import (PESIAR_MAX_ROWS); "
            "split the file by region"
        )

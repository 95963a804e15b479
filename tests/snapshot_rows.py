"""A snapshot's accepted rows as the tests read them: in file order (the file keeps none)."""

import pyarrow.parquet as pq

from pesiar.registers.models import Snapshot


def accepted_rows(snapshot: Snapshot) -> list[dict]:
    """The rows of the snapshot's accepted.parquet, sorted by their line in the source."""
    return pq.read_table(snapshot.data_file).sort_by("line").to_pylist()

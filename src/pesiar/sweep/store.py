"""Writing a sweep's worklists: items created, refreshed or reopened chunk by chunk, their
members replaced, and the items of families no longer listed closed.
"""

from collections.abc import Iterable

import duckdb
from django.db import connection

from pesiar.sweep.models import SweepRun, WorklistItem, WorklistMember

# Reasons the sweep closes items for (and so may reopen them for); other reasons come from
# field work and are left to it.
SWEEP_CLOSE_REASONS = ("FULLY_ACTIVE", "NOT_IN_REGISTER")
UNSCOPED = "the sweep rebuilds the worklists of every village in the map"


ITEM_FIELDS = [
    "village_id", "head_name", "address", "priority", "explanation", "pathways",
    "members_total", "members_uncovered", "pbi_people", "yearly_cost",
]  # fmt: skip


def update_items(items: list[WorklistItem], names: list[str]) -> None:
    """Write fields `names` of existing items (one prepared UPDATE, many rows: Django's
    bulk_update builds a CASE per field and row, minutes at this size)."""
    fields = [WorklistItem._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(WorklistItem._meta.db_table),
        ", ".join(f"{quote(f.column)} = %s" for f in fields),
        quote(WorklistItem._meta.pk.column),
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                [*(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields), obj.pk]
                for obj in items
            ],
        )


def store_chunk(
    sweep: SweepRun,
    built: list[tuple[dict, list[dict]]],
    existing: dict[str, tuple[int, str, str]],
    counts: dict[str, int],
) -> None:
    """Create or refresh the items of a chunk and replace their members. An item the sweep
    closed earlier is reopened; one closed by field work (a visit found the family moved,
    deceased, registered) stays closed — the field app reopens it if a later visit says so."""
    as_of = sweep.as_of
    new, reopen, refresh = [], [], []
    for item, _members in built:
        found = existing.get(item["kk"])
        if found is None:
            new.append(WorklistItem(**item, first_as_of=as_of, last_as_of=as_of, sweep=sweep))
            continue
        pk, state, reason = found
        obj = WorklistItem(pk=pk, **item, last_as_of=as_of, sweep=sweep, state="OPEN")
        if state == "CLOSED" and reason in SWEEP_CLOSE_REASONS:
            obj.closed_as_of, obj.closed_reason = None, ""
            counts["reopened"] += 1
            reopen.append(obj)
        else:
            counts["kept" if state == "OPEN" else "kept_closed_by_field"] += 1
            refresh.append(obj)
    WorklistItem.objects.bulk_create(new, batch_size=2000)
    update_items(refresh, [*ITEM_FIELDS, "last_as_of", "sweep"])
    update_items(
        reopen, [*ITEM_FIELDS, "last_as_of", "sweep", "state", "closed_as_of", "closed_reason"]
    )
    counts["opened"] += len(new)
    old = [*refresh, *reopen]
    old_ids = [obj.pk for obj in old]
    for start in range(0, len(old_ids), 5000):
        WorklistMember.objects.unscoped(reason=UNSCOPED).filter(
            item_id__in=old_ids[start : start + 5000]
        ).delete()
    ids = {obj.kk: obj.pk for obj in [*new, *old]}
    insert_members((ids[item["kk"]], member) for item, members in built for member in members)


MEMBER_FIELDS = [
    "nik", "name", "sex", "birth_date", "relation", "status", "inactive_reason", "noka",
    "segment", "flags", "pathway", "priority", "decile", "arrears_months", "arrears_amount",
    "employer_code", "employer_name", "layoff_date",
]  # fmt: skip


def insert_members(rows: Iterable[tuple[int, dict]]) -> None:
    """Insert (item id, member fields) rows with one prepared INSERT: several times faster
    than bulk_create, which compiles every value of every row."""
    quote = connection.ops.quote_name
    columns = ["item_id", *MEMBER_FIELDS]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(WorklistMember._meta.db_table),
        ", ".join(quote(c) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    date_value = connection.ops.adapt_datefield_value
    flags = WorklistMember._meta.get_field("flags")

    def values(item_id: int, m: dict) -> list:
        row = [item_id, *(m[f] for f in MEMBER_FIELDS)]
        row[4] = date_value(row[4])
        row[10] = flags.get_db_prep_save(row[10], connection)
        row[18] = date_value(row[18])
        return row

    with connection.cursor() as cursor:
        batch: list[list] = []
        for item_id, member in rows:
            batch.append(values(item_id, member))
            if len(batch) == 5000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def close_families(con: duckdb.DuckDBPyConnection, sweep: SweepRun, listed: set[str]) -> dict:
    """Close the open items of the map's villages whose family is no longer listed."""
    villages = {r[0] for r in con.execute("SELECT DISTINCT village_code FROM persons").fetchall()}
    known = {r[0] for r in con.execute("SELECT DISTINCT kk FROM persons").fetchall()}
    items = WorklistItem.objects.unscoped(reason=UNSCOPED).filter(state="OPEN")
    to_close: dict[str, list[int]] = {reason: [] for reason in SWEEP_CLOSE_REASONS}
    for pk, kk, village in items.values_list("pk", "kk", "village_id").iterator(chunk_size=10000):
        if kk in listed or village not in villages:
            continue
        to_close["FULLY_ACTIVE" if kk in known else "NOT_IN_REGISTER"].append(pk)
    for reason, pks in to_close.items():
        for start in range(0, len(pks), 5000):
            WorklistItem.objects.unscoped(reason=UNSCOPED).filter(
                pk__in=pks[start : start + 5000]
            ).update(state="CLOSED", closed_as_of=sweep.as_of, closed_reason=reason)
    return {f"closed_{reason.lower()}": len(pks) for reason, pks in to_close.items()}

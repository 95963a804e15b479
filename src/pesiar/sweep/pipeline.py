"""Sisir: turn the map of `as_of` and the social lists into family worklists.

One SQL step gathers the members of every family card (KK) with at least one member who is
not active (plus stunted children who have no NIK yet); the rules in `rules.py` give each
member flags, a pathway and points; items are kept across sweeps (so their visit history
stays), refreshed, reopened, or closed when the whole family is now active.
"""

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from datetime import date

import duckdb
from django.db import connection, transaction
from django.utils import timezone

from pesiar.linkage.models import LinkRun
from pesiar.ops.duck import connect, sql_path
from pesiar.registers.models import Snapshot
from pesiar.registers.snapshots import snapshot_sql
from pesiar.sweep.churn import feed_losses
from pesiar.sweep.models import PriorityWeights, SweepRun, WorklistItem, WorklistMember
from pesiar.sweep.rules import DEFAULT_WEIGHTS, Member, Thresholds, classify, explain

Progress = Callable[[str], None]
CHUNK_FAMILIES = 20_000
LISTS = ("welfare", "stunting", "pregnancy", "layoffs", "workers")
# Reasons the sweep closes items for (and so may reopen them for); other reasons come from
# field work and are left to it.
SWEEP_CLOSE_REASONS = ("FULLY_ACTIVE", "NOT_IN_REGISTER")
UNSCOPED = "the sweep rebuilds the worklists of every village in the map"


class SweepError(Exception):
    """The sweep cannot run (e.g. no map for the date)."""


def map_for(as_of: date) -> LinkRun:
    """The finished map of `as_of`, or the latest one before it."""
    run = (
        LinkRun.objects.filter(status=LinkRun.Status.DONE, as_of__lte=as_of)
        .order_by("-as_of", "-id")
        .first()
    )
    if run is None:
        raise SweepError(f"no map on or before {as_of}: run `pesiar map --as-of {as_of}` first")
    return run


# One table per social list, deduplicated per person; empty when the list was not imported.
LIST_SQL = {
    "welfare": (
        # min() passes over the rows without a decile (DTKS/DTSEN): listed, decile NULL
        "SELECT nik, min(decile) AS decile FROM {src} WHERE nik IS NOT NULL GROUP BY nik",
        "nik VARCHAR, decile INTEGER",
    ),
    "stunting": (
        "SELECT child_nik, child_name, birth_date, sex, kk, village_code FROM {src}",
        "child_nik VARCHAR, child_name VARCHAR, birth_date DATE, sex VARCHAR, kk VARCHAR, "
        "village_code VARCHAR",
    ),
    "pregnancy": (
        "SELECT DISTINCT nik FROM {src} WHERE nik IS NOT NULL "
        "AND (expected_delivery_date IS NULL OR expected_delivery_date >= DATE '{as_of}')",
        "nik VARCHAR",
    ),
    "layoffs": (
        "SELECT nik, max(layoff_date) AS layoff_date, arg_max(employer_code, layoff_date) "
        "AS employer_code FROM {src} WHERE nik IS NOT NULL GROUP BY nik",
        "nik VARCHAR, layoff_date DATE, employer_code VARCHAR",
    ),
    "workers": (
        "SELECT nik, min(employer_code) AS employer_code, "
        "arg_min(employer_name, employer_code) AS employer_name "
        "FROM {src} WHERE nik IS NOT NULL GROUP BY nik",
        "nik VARCHAR, employer_code VARCHAR, employer_name VARCHAR",
    ),
}


def _has_column(con: duckdb.DuckDBPyConnection, src: str, name: str) -> bool:
    return name in {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}


def load_lists(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, int | None]:
    """Temp tables for the social lists of `as_of` (or the latest before); their snapshot ids."""
    used: dict[str, int | None] = {}
    for kind in LISTS:
        snapshot = Snapshot.objects.latest_for(kind, as_of)
        select, columns = LIST_SQL[kind]
        if snapshot is None:
            con.execute(f"CREATE TEMP TABLE {kind} ({columns})")
        else:
            src = snapshot_sql(kind, snapshot.as_of)
            if kind == "stunting" and _has_column(con, src, "stunted"):
                # A measurement list (e-PPGBM) holds every child measured: only the stunted.
                src = f"(SELECT * FROM {src} WHERE stunted IS NOT FALSE)"
            con.execute(
                f"CREATE TEMP TABLE {kind} AS " + select.format(src=src, as_of=as_of.isoformat())
            )
        used[kind] = snapshot.pk if snapshot else None
    return used


def gather_members(con: duckdb.DuckDBPyConnection, run: LinkRun, chunks: int) -> int:
    """Table `members`: everyone in a family with someone not active, with what the lists
    say of them, and a chunk number per family. Returns the number of families."""
    con.execute(
        f"""
        CREATE TEMP TABLE persons AS SELECT * FROM read_parquet({sql_path(run.persons_file)});
        CREATE TEMP TABLE pop AS
        SELECT nik, arg_min(name, line) AS name, arg_min(family_relation, line) AS relation,
               arg_min(concat_ws(' ', address, 'RT ' || rt, 'RW ' || rw), line) AS address
        FROM {snapshot_sql("population", run.population.as_of)} GROUP BY nik;
        CREATE TEMP TABLE bpjs AS
        SELECT noka, arg_min(village_code, line) AS village_code
        FROM {snapshot_sql("membership", run.membership.as_of)} GROUP BY noka;
        CREATE TEMP TABLE newborns AS
        SELECT s.* FROM stunting s WHERE s.child_nik IS NULL
          AND s.kk IN (SELECT kk FROM persons);
        CREATE TEMP TABLE families AS
        SELECT kk FROM persons WHERE status <> 'ACTIVE' AND kk IS NOT NULL
        UNION SELECT kk FROM newborns;
        CREATE TEMP TABLE members AS
        SELECT p.kk, p.village_code, p.nik, pop.name, p.sex, p.birth_date, pop.relation,
               pop.address, p.status, p.reason AS inactive_reason, p.noka, p.segment,
               p.arrears_months, p.arrears_amount,
               coalesce(wk.employer_code, l.employer_code, p.employer_code) AS employer_code,
               wk.employer_name, w.decile, w.nik IS NOT NULL AS welfare_listed, l.layoff_date,
               p.nik IN (SELECT child_nik FROM stunting) AS stunted,
               pr.nik IS NOT NULL AS pregnant, wk.nik IS NOT NULL AS formal_worker,
               coalesce(p.reason = 'DECEASED', false) AS deceased_suspected,
               coalesce(left(b.village_code, 5) <> left(p.village_code, 5), false)
                   AS moved_suspected
        FROM persons p SEMI JOIN families f ON p.kk = f.kk
        LEFT JOIN pop ON pop.nik = p.nik
        LEFT JOIN bpjs b ON b.noka = p.noka
        LEFT JOIN welfare w ON w.nik = p.nik
        LEFT JOIN layoffs l ON l.nik = p.nik
        LEFT JOIN pregnancy pr ON pr.nik = p.nik
        LEFT JOIN workers wk ON wk.nik = p.nik
        UNION ALL
        SELECT n.kk, coalesce(n.village_code, (SELECT any_value(village_code) FROM persons
                                               WHERE kk = n.kk)),
               NULL, n.child_name, n.sex, n.birth_date, 'ANAK', NULL, 'NOT_REGISTERED', NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, true, false, false, false,
               false
        FROM newborns n;
        ALTER TABLE members ADD COLUMN chunk INTEGER;
        UPDATE members SET chunk = hash(kk) % {chunks};
        """
    )
    return con.execute("SELECT count(DISTINCT kk) FROM members").fetchall()[0][0]


MEMBER_SQL = """
    SELECT kk, village_code, nik, name, sex, birth_date, relation, address, status,
           inactive_reason, noka, segment, arrears_months, arrears_amount, employer_code,
           employer_name, decile, welfare_listed, layoff_date, stunted, pregnant, formal_worker,
           deceased_suspected, moved_suspected
    FROM members WHERE chunk = ? ORDER BY kk, birth_date NULLS LAST, nik
"""


def families(con: duckdb.DuckDBPyConnection, chunks: int) -> Iterator[tuple[str, list[tuple]]]:
    for chunk in range(chunks):
        rows = con.execute(MEMBER_SQL, [chunk]).fetchall()
        yield from ((kk, list(group)) for kk, group in itertools.groupby(rows, lambda r: r[0]))


def weights_by_regency() -> tuple[dict, dict[str, dict]]:
    """The default weights and each regency's own (each complete over DEFAULT_WEIGHTS)."""
    rows = PriorityWeights.objects.unscoped(reason="reading priority weights").all()
    default = dict(DEFAULT_WEIGHTS)
    for row in rows:
        if row.regency_id is None:
            default.update(row.weights)
    own = {r.regency_id: {**default, **r.weights} for r in rows if r.regency_id is not None}
    return default, own


def head_of(members: list[tuple]) -> tuple:
    for row in members:
        if (row[6] or "").upper().startswith("KEPALA"):
            return row
    return min(members, key=lambda r: (r[5] is None, r[5]))


def build_family(
    kk: str,
    rows: list[tuple],
    as_of: date,
    thresholds: Thresholds,
    weights: dict,
) -> tuple[dict, list[dict]]:
    """The item fields and member fields of one family."""
    members = []
    classified = []
    for row in rows:
        (
            _kk, _village, nik, name, sex, birth, relation, _address, status, reason, noka,
            segment, arrears_months, arrears_amount, employer_code, employer_name, decile,
            listed, layoff_date, stunted, pregnant, formal, deceased, moved,
        ) = row  # fmt: skip
        facts = classify(
            Member(
                status=status,
                nik=nik or "",
                inactive_reason=reason or "",
                segment=segment or "",
                birth_date=birth,
                decile=decile,
                welfare_listed=listed,
                layoff_date=layoff_date,
                stunted=stunted,
                pregnant=pregnant,
                formal_worker=formal,
                arrears_months=arrears_months,
                deceased_suspected=deceased,
                moved_suspected=moved,
            ),
            as_of,
            thresholds,
            weights,
        )
        classified.append(facts)
        members.append(
            {
                "nik": nik or "",
                "name": name or "",
                "sex": sex or "",
                "birth_date": birth,
                "relation": relation or "",
                "status": status,
                "inactive_reason": reason or "",
                "noka": noka or "",
                "segment": segment or "",
                "flags": facts.flags,
                "pathway": facts.pathway,
                "priority": facts.priority,
                "decile": decile,
                "arrears_months": arrears_months,
                "arrears_amount": arrears_amount,
                "employer_code": employer_code or "",
                "employer_name": employer_name or "",
                "layoff_date": layoff_date,
            }
        )
    priority, explanation = explain(classified, weights)
    head = head_of(rows)
    pbi = sum(1 for m in classified if m.pathway == "PBI_APBD")
    item = {
        "kk": kk,
        "village_id": head[1],
        "head_name": head[3] or "",
        "address": head[7] or "",
        "priority": priority,
        "explanation": explanation,
        "pathways": sorted({m.pathway for m in classified if m.pathway}),
        "members_total": len(rows),
        "members_uncovered": sum(1 for m in classified if not m.covered),
        "pbi_people": pbi,
        "yearly_cost": pbi * thresholds.pbi_yearly,
    }
    return item, members


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


def run_sweep(as_of: date, *, progress: Progress | None = None) -> SweepRun:
    """Build or refresh the worklists from the map of `as_of` (or the latest before it)."""
    say = progress or (lambda _message: None)
    thresholds = Thresholds.from_settings()
    link_run = map_for(as_of)
    default_weights, regency_weights = weights_by_regency()
    seconds: dict[str, float] = {}
    counts = dict.fromkeys(
        ["families", "members", "opened", "kept", "reopened", "kept_closed_by_field"], 0
    )
    by_pathway: dict[str, int] = {}
    by_flag: dict[str, int] = {}
    con = connect()
    try:
        started = time.perf_counter()
        say("read")
        used = load_lists(con, as_of)
        persons = con.execute(
            f"SELECT count(*) FROM read_parquet({sql_path(link_run.persons_file)})"
        ).fetchall()[0][0]
        chunks = max(1, persons // 200_000 + 1)
        gather_members(con, link_run, chunks)
        seconds["read"] = round(time.perf_counter() - started, 3)
        with transaction.atomic():
            sweep = SweepRun.objects.create(
                as_of=as_of,
                link_run=link_run,
                snapshots={
                    "population": link_run.population_id,
                    "membership": link_run.membership_id,
                    **used,
                },
                config=asdict(thresholds),
            )
            existing = {
                kk: (pk, state, reason)
                for pk, kk, state, reason in WorklistItem.objects.unscoped(reason=UNSCOPED)
                .values_list("pk", "kk", "state", "closed_reason")
                .iterator(chunk_size=10000)
            }
            listed: set[str] = set()
            started = time.perf_counter()
            say("families")
            batch: list[tuple[dict, list[dict]]] = []
            for kk, rows in families(con, chunks):
                weights = regency_weights.get(rows[0][1][:5], default_weights)
                item, members = build_family(kk, rows, as_of, thresholds, weights)
                batch.append((item, members))
                listed.add(kk)
                counts["members"] += len(members)
                for member in members:
                    if member["pathway"]:
                        by_pathway[member["pathway"]] = by_pathway.get(member["pathway"], 0) + 1
                    for flag in member["flags"]:
                        by_flag[flag] = by_flag.get(flag, 0) + 1
                if len(batch) >= CHUNK_FAMILIES:
                    store_chunk(sweep, batch, existing, counts)
                    batch = []
            store_chunk(sweep, batch, existing, counts)
            counts["families"] = len(listed)
            seconds["families"] = round(time.perf_counter() - started, 3)
            started = time.perf_counter()
            say("close")
            counts.update(close_families(con, sweep, listed))
            seconds["close"] = round(time.perf_counter() - started, 3)
            counts["pbi_people"] = by_pathway.get("PBI_APBD", 0)
            counts["pbi_yearly_cost"] = counts["pbi_people"] * thresholds.pbi_yearly
            counts["recent_losses"] = feed_losses(sweep)
            sweep.counts = {**counts, "pathways": by_pathway, "flags": by_flag}
            sweep.seconds = seconds
            sweep.finished_at = timezone.now()
            sweep.save()
    finally:
        con.close()
    return sweep

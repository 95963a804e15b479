"""Sisir: turn the map of `as_of` and the social lists into family worklists.

Named, timed steps (`pesiar.ops.duck.Steps`, as the map runs):
- read: one SQL step gathers the members of every family card (KK) with at least one member
  who is not active, plus stunted children who have no NIK yet (`gather`);
- families: the rules in `rules.py` give each member flags, a pathway and points, and the
  items are written chunk by chunk (`store`): kept across sweeps (so their visit history
  stays), refreshed or reopened;
- close: the items of families that are now wholly active, or gone, are closed.
"""

from dataclasses import asdict, dataclass, field
from datetime import date

import duckdb
from django.db import transaction
from django.utils import timezone

from pesiar.linkage.models import LinkRun
from pesiar.ops.duck import Progress, Steps, connect, sql_path
from pesiar.sweep.churn import feed_losses
from pesiar.sweep.gather import families, gather_members, load_lists
from pesiar.sweep.models import PriorityWeights, SweepRun, WorklistItem
from pesiar.sweep.rules import DEFAULT_WEIGHTS, Member, Thresholds, classify, explain
from pesiar.sweep.store import UNSCOPED, close_families, store_chunk

CHUNK_FAMILIES = 20_000
COUNTED = ["families", "members", "opened", "kept", "reopened", "kept_closed_by_field"]


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


@dataclass
class Tally:
    """What a sweep counts while it builds the families."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    by_pathway: dict[str, int] = field(default_factory=dict)
    by_flag: dict[str, int] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)

    def add(self, kk: str, members: list[dict]) -> None:
        self.listed.add(kk)
        self.counts["members"] += len(members)
        for member in members:
            if member["pathway"]:
                self.by_pathway[member["pathway"]] = self.by_pathway.get(member["pathway"], 0) + 1
            for flag in member["flags"]:
                self.by_flag[flag] = self.by_flag.get(flag, 0) + 1


def read_registers(con: duckdb.DuckDBPyConnection, as_of: date, link_run: LinkRun) -> dict:
    """Step `read`: the lists and the members; the snapshots used and the number of chunks."""
    used = load_lists(con, as_of)
    persons = con.execute(
        f"SELECT count(*) FROM read_parquet({sql_path(link_run.persons_file)})"
    ).fetchall()[0][0]
    chunks = max(1, persons // 200_000 + 1)
    gather_members(con, link_run, chunks)
    return {"used": used, "chunks": chunks}


def build_families(
    con: duckdb.DuckDBPyConnection,
    sweep: SweepRun,
    chunks: int,
    thresholds: Thresholds,
    tally: Tally,
) -> None:
    """Step `families`: every listed family's item and members, stored chunk by chunk."""
    default_weights, regency_weights = weights_by_regency()
    existing = {
        kk: (pk, state, reason)
        for pk, kk, state, reason in WorklistItem.objects.unscoped(reason=UNSCOPED)
        .values_list("pk", "kk", "state", "closed_reason")
        .iterator(chunk_size=10000)
    }
    batch: list[tuple[dict, list[dict]]] = []
    for kk, rows in families(con, chunks):
        weights = regency_weights.get(rows[0][1][:5], default_weights)
        item, members = build_family(kk, rows, sweep.as_of, thresholds, weights)
        batch.append((item, members))
        tally.add(kk, members)
        if len(batch) >= CHUNK_FAMILIES:
            store_chunk(sweep, batch, existing, tally.counts)
            batch = []
    store_chunk(sweep, batch, existing, tally.counts)
    tally.counts["families"] = len(tally.listed)


def run_sweep(as_of: date, *, progress: Progress | None = None) -> SweepRun:
    """Build or refresh the worklists from the map of `as_of` (or the latest before it)."""
    thresholds = Thresholds.from_settings()
    link_run = map_for(as_of)
    steps, tally = Steps(progress), Tally()
    con = connect()
    try:
        read = {}
        steps.one("read", lambda: read.update(read_registers(con, as_of, link_run)))
        with transaction.atomic():
            sweep = SweepRun.objects.create(
                as_of=as_of,
                link_run=link_run,
                snapshots={
                    "population": link_run.population_id,
                    "membership": link_run.membership_id,
                    **read["used"],
                },
                config=asdict(thresholds),
            )
            steps.one(
                "families", lambda: build_families(con, sweep, read["chunks"], thresholds, tally)
            )
            steps.one("close", lambda: close_families(con, sweep, tally.listed))
            counts = {**tally.counts, **steps.counts}
            counts["pbi_people"] = tally.by_pathway.get("PBI_APBD", 0)
            counts["pbi_yearly_cost"] = counts["pbi_people"] * thresholds.pbi_yearly
            counts["recent_losses"] = feed_losses(sweep)
            sweep.counts = {**counts, "pathways": tally.by_pathway, "flags": tally.by_flag}
            sweep.seconds = steps.seconds
            sweep.finished_at = timezone.now()
            sweep.save()
    finally:
        con.close()
    return sweep

"""Monev: what changed since the previous date (every figure's change, the churn radar's
counts) and the path to the targets (who each pathway must bring in, when at this pace, and
the agents' workload it means)."""

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy

from pesiar.accounts.models import Scope
from pesiar.coverage.churn import GAINS, LOSSES
from pesiar.coverage.models import Change
from pesiar.coverage.services import Targets
from pesiar.monev.figures import VALUE_FIELDS, Figures, region_figures
from pesiar.monev.scope import NATION, in_scope, indicators, scope_codes
from pesiar.regions.models import CODE_LENGTH, within_q

# --- change since the previous date ------------------------------------------------------------


def previous_date(available: list[date], as_of: date) -> date | None:
    """The latest date with figures before `as_of` (dates newest first)."""
    earlier = [d for d in available if d < as_of]
    return earlier[0] if earlier else None


def attach_previous(user: Any | None, rows: list[Figures], previous: date | None) -> None:
    """Set each row's `previous` figures (same region, previous date) in one query."""
    if previous is None or not rows:
        return
    codes = [r.code for r in rows if r.code != NATION]
    found = {
        f.code: f
        for f in (
            Figures.from_values(v)
            for v in indicators(user)
            .filter(as_of=previous, region_id__in=codes)
            .values(*VALUE_FIELDS)
        )
    }
    for row in rows:
        if row.hidden:
            continue
        if row.code == NATION:
            row.previous = region_figures(user, NATION, previous)
        else:
            row.previous = found.get(row.code)


# --- the churn radar ---------------------------------------------------------------------------

CAUSE_LABELS = dict(Change.Cause.choices)


@dataclass
class Churn:
    as_of: date
    previous: date | None
    totals: list[tuple[str, str, int, bool]]  # cause, label, count, loss
    rows: list[dict]  # code, name, counts {cause: n}, lost, gained
    losses: int = 0
    gains: int = 0
    causes: list[tuple[str, str]] = field(default_factory=list)  # the columns of `rows`


def _changes(user: Any | None, code: str):
    """The changes inside `code` that the user may count: their own regions only (counts
    leave this function, never people)."""
    qs = Change.objects.unscoped(reason="churn counts per village and cause: aggregates only")
    if code:
        return qs.filter(within_q(code, "village_code"))
    codes = scope_codes(user)
    if codes is None:
        return qs
    q = Q(pk__in=[])
    for c in codes:
        q |= within_q(c, "village_code")
    return qs.filter(q)


def churn(user: Any | None, code: str, as_of: date, children: list[Figures]) -> Churn | None:
    """Counts of changes on `as_of` per cause, in total and per child region (None when the
    map of `as_of` has no earlier map, or the region is only a peer of the user's)."""
    if not in_scope(user, code):
        return None
    qs = _changes(user, code).filter(as_of=as_of)
    per_village = list(qs.values("village_code", "cause").annotate(n=Count("id")).order_by())
    if not per_village:
        return None
    previous = qs.values_list("previous_as_of", flat=True).first()
    totals: dict[str, int] = {}
    by_child: dict[str, dict[str, int]] = {}
    width = CODE_LENGTH.get(children[0].level) if children else None
    for row in per_village:
        totals[row["cause"]] = totals.get(row["cause"], 0) + row["n"]
        if width:
            child = by_child.setdefault(row["village_code"][:width], {})
            child[row["cause"]] = child.get(row["cause"], 0) + row["n"]
    causes = [(c, str(CAUSE_LABELS[c])) for c in Change.Cause.values if c in totals]
    rows = []
    for c in children:
        counts = by_child.get(c.code, {})
        rows.append(
            {
                "code": c.code,
                "name": c.name,
                "parent_name": c.parent_name,
                "counts": [counts.get(k, 0) for k, _label in causes],
                "lost": sum(counts.get(k, 0) for k in LOSSES),
                "gained": sum(counts.get(k, 0) for k in GAINS),
            }
        )
    rows.sort(key=lambda r: (-r["lost"], r["code"]))
    return Churn(
        as_of=as_of,
        previous=previous,
        totals=[(c, label, totals[c], c in LOSSES) for c, label in causes],
        rows=rows,
        losses=sum(totals.get(k, 0) for k in LOSSES),
        gains=sum(totals.get(k, 0) for k in GAINS),
        causes=causes,
    )


# --- the path to 98/75 -------------------------------------------------------------------------

PATHWAY_LABELS = {
    "REGISTRATION": gettext_lazy("register the unregistered (PBI-APBD, PBPU, employer)"),
    "PBI_REACTIVATION": gettext_lazy("PBI reactivation through Dinsos"),
    "REHAB": gettext_lazy("arrears: REHAB installment plan"),
    "PHK_CONTINUATION": gettext_lazy("cover after layoff (PHK) continued"),
    "OTHER": gettext_lazy("other inactive participants"),
}
# Inactive reason -> the pathway that makes the person active again.
REASON_PATHWAYS = {
    "PBI_DEACTIVATED": "PBI_REACTIVATION",
    "ARREARS": "REHAB",
    "LAYOFF_ENDED": "PHK_CONTINUATION",
    "OTHER": "OTHER",
    "DECEASED": "OTHER",
}
PEOPLE_PER_FAMILY = Decimal("3.5")  # uncovered members a family visit brings in, on average
PLANNING_WEEKS = 52  # the agents' workload: families per agent per week over a year


@dataclass
class PathLine:
    pathway: str
    label: str
    pool: int  # people this pathway can bring in
    needed: int  # of them, to close the activity gap


@dataclass
class TargetPath:
    gap_active: int
    gap_coverage: int
    lines: list[PathLine]
    pace: Decimal | None  # active residents gained per month over the last snapshots
    months: int | None  # to the activity target at that pace (None: not at this pace)
    reached: date | None
    agents: int
    families: int
    families_per_agent_week: Decimal | None


def add_months(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(y, m + 1, min(day.day, 28))


def split_gap(gap: int, pools: dict[str, int]) -> dict[str, int]:
    """The gap shared among the pathways in proportion to their pools (largest remainder;
    a pathway never needs more people than it has)."""
    total = sum(pools.values())
    if gap <= 0 or total <= 0:
        return {k: 0 for k in pools}
    gap = min(gap, total)
    exact = {k: Decimal(gap * v) / total for k, v in pools.items()}
    out = {k: int(v) for k, v in exact.items()}
    rest = gap - sum(out.values())
    for k in sorted(pools, key=lambda k: (-(exact[k] - out[k]), k))[:rest]:
        out[k] += 1
    return out


def target_path(
    figures: Figures, history: list[Figures], agents: int, targets: Targets | None = None
) -> TargetPath:
    """What closes the activity gap of `figures`: per pathway, the people it must bring in
    (the gap shared by the pools: the unregistered, and the inactive by reason), the month
    the target is reached at the pace of the last snapshots (up to three), and the families
    per agent per week over PLANNING_WEEKS."""
    targets = targets or Targets.from_settings()
    pools = {"REGISTRATION": figures.not_registered}
    for reason, n in figures.inactive_reasons.items():
        key = REASON_PATHWAYS.get(reason, "OTHER")
        pools[key] = pools.get(key, 0) + n
    pools = {k: v for k, v in pools.items() if v}
    need = split_gap(figures.to_target_active, pools)
    lines = [
        PathLine(k, str(PATHWAY_LABELS[k]), pools[k], need[k]) for k in PATHWAY_LABELS if k in pools
    ]
    recent = [h for h in history if h.as_of <= figures.as_of][-3:]
    pace = months = reached = None
    if len(recent) >= 2:
        first, last = recent[0], recent[-1]
        span = (last.as_of.year - first.as_of.year) * 12 + last.as_of.month - first.as_of.month
        if span > 0:
            pace = (Decimal(last.active - first.active) / span).quantize(Decimal("0.1"))
    gap = figures.to_target_active
    if gap == 0:
        months, reached = 0, figures.as_of
    elif pace is not None and pace > 0:
        months = math.ceil(Decimal(gap) / pace)
        reached = add_months(figures.as_of, months)
    families = math.ceil(Decimal(gap) / PEOPLE_PER_FAMILY) if gap else 0
    per_week = None
    if agents:
        per_week = (Decimal(families) / agents / PLANNING_WEEKS).quantize(Decimal("0.1"))
    return TargetPath(
        gap_active=gap,
        gap_coverage=figures.to_target_coverage,
        lines=lines,
        pace=pace,
        months=months,
        reached=reached,
        agents=agents,
        families=families,
        families_per_agent_week=per_week,
    )


def agents_within(code: str) -> int:
    """Village agents whose scope lies inside `code` (a count)."""
    qs = Scope.objects.filter(user__role="agent", user__is_active=True)
    if code:
        qs = qs.filter(within_q(code, "region__code"))
    return qs.values("user").distinct().count()

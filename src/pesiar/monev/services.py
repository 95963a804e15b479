"""Monev: the figures of the monthly monitoring and evaluation meeting.

Everything here takes the user whose view it is and reads region-keyed rows through
`for_user(user)`; `user=None` is the command line (`pesiar report`), which sees every region
and says so with `unscoped(reason=...)`. The nation (code '') is the sum of the provinces for
the national administrator, and the sum of a scoped user's regions for everyone else.
"""

import dataclasses
import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Max, Q, QuerySet, Sum
from django.http import Http404
from django.utils import formats, timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from pesiar.accounts.scoping import get_scope
from pesiar.coverage.models import Indicator
from pesiar.coverage.services import REASONS, SEGMENTS, Targets, pct, to_target
from pesiar.monev import geo
from pesiar.monev.models import Boundary
from pesiar.regions.models import CODE_LENGTH, Level, Region, is_within, under_q, within_q

logger = logging.getLogger(__name__)

CLI_REASON = "pesiar report on the command line: the operator reports on any region"
NATION = ""
LEVEL_NAMES = {
    0: gettext_lazy("Indonesia"),
    1: gettext_lazy("Province"),
    2: gettext_lazy("Regency/City"),
    3: gettext_lazy("District"),
    4: gettext_lazy("Village"),
}
LEVEL_PLURALS = {
    1: gettext_lazy("Provinces"),
    2: gettext_lazy("Regencies/Cities"),
    3: gettext_lazy("Districts"),
    4: gettext_lazy("Villages"),
}
SEGMENT_LABELS = {
    "PBI_APBN": gettext_lazy("PBI APBN (paid by the central government)"),
    "PBI_APBD": gettext_lazy("PBI APBD (paid by the Pemda)"),
    "PPU": gettext_lazy("PPU (wage earners)"),
    "PBPU": gettext_lazy("PBPU (self-paying)"),
    "BP": gettext_lazy("BP (non-workers)"),
}
REASON_LABELS = {
    "ARREARS": gettext_lazy("Arrears"),
    "PBI_DEACTIVATED": gettext_lazy("PBI deactivated"),
    "LAYOFF_ENDED": gettext_lazy("Layoff cover ended"),
    "DECEASED": gettext_lazy("Deceased"),
    "OTHER": gettext_lazy("Other"),
}
# The figures change only when `pesiar map` stores new indicators (new row ids), so a dashboard
# is cached per scope, region, date and language under the newest row id, for at most
# CACHE_SECONDS; what the sweep and the field apps add (worklists, visits) for OPTIONAL_SECONDS.
CACHE_SECONDS = 300
OPTIONAL_SECONDS = 60
METRICS = {"active": gettext_lazy("Active %"), "coverage": gettext_lazy("Coverage %")}


# --- scoped querysets --------------------------------------------------------------------------


def indicators(user: Any | None) -> QuerySet:
    if user is None:
        return Indicator.objects.unscoped(reason=CLI_REASON)
    return Indicator.objects.for_user(user)


def boundaries(user: Any | None) -> QuerySet:
    if user is None:
        return Boundary.objects.unscoped(reason=CLI_REASON)
    return Boundary.objects.for_user(user)


def findings(user: Any | None) -> QuerySet:
    from pesiar.registers.models import Finding

    if user is None:
        return Finding.objects.unscoped(reason=CLI_REASON)
    return Finding.objects.for_user(user)


def scope_codes(user: Any | None) -> tuple[str, ...] | None:
    """The user's scope codes; None for national users and the command line."""
    if user is None:
        return None
    scope = get_scope(user)
    return None if scope.national else scope.codes


def can_view(user: Any | None, code: str) -> bool:
    """May the user open the dashboard of region `code` ('' is everyone's own top view)?"""
    if code == NATION or user is None:
        return True
    codes = scope_codes(user)
    return codes is None or any(is_within(code, c) for c in codes)


# --- dates ---------------------------------------------------------------------------------------


def dates(user: Any | None) -> list[date]:
    """Dates with indicators the user can see, newest first."""
    rows = indicators(user).order_by().values_list("as_of", flat=True).distinct()
    return sorted(set(rows), reverse=True)


def resolve_as_of(
    user: Any | None, requested: date | None = None, available: list[date] | None = None
) -> date | None:
    """The requested date if it has figures, else the latest date before it (or the latest)."""
    available = dates(user) if available is None else available
    if not available:
        return None
    if requested is None:
        return available[0]
    earlier = [d for d in available if d <= requested]
    return earlier[0] if earlier else available[-1]


def parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


# --- figures -------------------------------------------------------------------------------------


@dataclass
class Figures:
    """One region's figures on one date (an Indicator row, or the sum of several)."""

    code: str
    name: str
    level: int
    as_of: date
    population: int = 0
    registered: int = 0
    active: int = 0
    coverage_pct: Decimal = Decimal("0.00")
    active_pct: Decimal = Decimal("0.00")
    to_target_coverage: int = 0
    to_target_active: int = 0
    rank: int | None = None
    rank_of: int | None = None
    uhc_class: str = ""
    segments: dict[str, int] = field(default_factory=dict)
    inactive_reasons: dict[str, int] = field(default_factory=dict)
    unmatched_participants: int = 0
    deceased_listed: int = 0
    parent_code: str | None = None

    @property
    def inactive(self) -> int:
        return self.registered - self.active

    @property
    def not_registered(self) -> int:
        return self.population - self.registered

    @property
    def level_name(self) -> str:
        return str(LEVEL_NAMES.get(self.level, ""))

    def metric(self, name: str) -> Decimal:
        return self.coverage_pct if name == "coverage" else self.active_pct

    @classmethod
    def from_indicator(cls, row: Indicator, name: str | None = None) -> "Figures":
        return cls(
            code=row.region_id,
            name=name if name is not None else row.region.name,
            level=row.level,
            as_of=row.as_of,
            population=row.population,
            registered=row.registered,
            active=row.active,
            coverage_pct=row.coverage_pct,
            active_pct=row.active_pct,
            to_target_coverage=row.to_target_coverage,
            to_target_active=row.to_target_active,
            rank=row.rank,
            rank_of=row.rank_of,
            uhc_class=row.uhc_class,
            segments=dict(row.segments or {}),
            inactive_reasons=dict(row.inactive_reasons or {}),
            unmatched_participants=row.unmatched_participants,
            deceased_listed=row.deceased_listed,
        )

    @classmethod
    def from_values(cls, row: dict) -> "Figures":
        """From `indicators(...).values(*VALUE_FIELDS)` (no model instances: cheaper)."""
        return cls(
            code=row["region_id"],
            name=row["region__name"],
            level=row["level"],
            as_of=row["as_of"],
            population=row["population"],
            registered=row["registered"],
            active=row["active"],
            coverage_pct=row["coverage_pct"],
            active_pct=row["active_pct"],
            to_target_coverage=row["to_target_coverage"],
            to_target_active=row["to_target_active"],
            rank=row["rank"],
            rank_of=row["rank_of"],
            uhc_class=row["uhc_class"],
        )

    @classmethod
    def total(cls, code: str, name: str, level: int, as_of: date, parts: Sequence["Figures"]):
        """The sum of `parts` (a region's figures are the sum of its parts')."""
        targets = Targets.from_settings()
        population = sum(p.population for p in parts)
        registered = sum(p.registered for p in parts)
        active = sum(p.active for p in parts)
        coverage = pct(registered, population)
        return cls(
            code=code,
            name=name,
            level=level,
            as_of=as_of,
            population=population,
            registered=registered,
            active=active,
            coverage_pct=coverage,
            active_pct=pct(active, population),
            to_target_coverage=to_target(targets.coverage_pct, population, registered),
            to_target_active=to_target(targets.active_pct, population, active),
            uhc_class=targets.uhc_class(coverage) if population else "",
            segments={s: sum(p.segments.get(s, 0) for p in parts) for s in SEGMENTS},
            inactive_reasons={r: sum(p.inactive_reasons.get(r, 0) for p in parts) for r in REASONS},
            unmatched_participants=sum(p.unmatched_participants for p in parts),
            deceased_listed=sum(p.deceased_listed for p in parts),
        )


VALUE_FIELDS = (
    "region_id",
    "region__name",
    "level",
    "as_of",
    "population",
    "registered",
    "active",
    "coverage_pct",
    "active_pct",
    "to_target_coverage",
    "to_target_active",
    "rank",
    "rank_of",
    "uhc_class",
)


def top_regions(user: Any | None, as_of: date) -> list[Figures]:
    """The regions at the top of the user's view: the provinces for national users, else the
    user's scope regions (those with figures)."""
    codes = scope_codes(user)
    rows = indicators(user).filter(as_of=as_of).select_related("region")
    rows = rows.filter(level=1) if codes is None else rows.filter(region_id__in=codes)
    return [Figures.from_indicator(r) for r in rows.order_by("region_id")]


def region_figures(user: Any | None, code: str, as_of: date) -> Figures | None:
    """Figures of region `code` on `as_of` ('' for the user's whole view), or None."""
    if code == NATION:
        parts = top_regions(user, as_of)
        if not parts:
            return None
        name = _("Indonesia") if scope_codes(user) is None else _("Your regions")
        return Figures.total(NATION, name, 0, as_of, parts)
    row = indicators(user).filter(as_of=as_of, region_id=code).select_related("region").first()
    return Figures.from_indicator(row) if row else None


def children_figures(user: Any | None, code: str, as_of: date) -> list[Figures]:
    """Figures of the children of `code` on `as_of`, ranked (best first)."""
    if code == NATION:
        rows = top_regions(user, as_of)
    else:
        level = len(code.split(".")) + 1
        qs = (
            indicators(user)
            .filter(under_q(code, "region__pk"), as_of=as_of, level=level)
            .select_related("region")
        )
        rows = [Figures.from_indicator(r) for r in qs]
    return sorted(rows, key=lambda f: (-f.active_pct, -f.coverage_pct, f.code))


def trend(user: Any | None, code: str, limit: int = 24) -> list[Figures]:
    """The region's figures on every date with indicators (oldest first), at most `limit`."""
    if code == NATION:
        codes = scope_codes(user)
        qs = indicators(user)
        qs = qs.filter(level=1) if codes is None else qs.filter(region_id__in=codes)
        sums = (
            qs.values("as_of")
            .annotate(
                p=Sum("population"), r=Sum("registered"), a=Sum("active"), u=Sum("to_target_active")
            )
            .order_by("-as_of")[:limit]
        )
        targets = Targets.from_settings()
        out = [
            Figures(
                code=NATION,
                name="",
                level=0,
                as_of=s["as_of"],
                population=s["p"],
                registered=s["r"],
                active=s["a"],
                coverage_pct=pct(s["r"], s["p"]),
                active_pct=pct(s["a"], s["p"]),
                to_target_coverage=to_target(targets.coverage_pct, s["p"], s["r"]),
                to_target_active=to_target(targets.active_pct, s["p"], s["a"]),
            )
            for s in sums
        ]
    else:
        qs = indicators(user).filter(region_id=code).select_related("region")
        out = [Figures.from_indicator(r) for r in qs.order_by("-as_of")[:limit]]
    return out[::-1]


def extreme_villages(
    user: Any | None, code: str, as_of: date, n: int = 5
) -> tuple[list[Figures], list[Figures]]:
    """The `n` lowest and `n` highest villages under `code` by active %, then coverage %."""
    qs = (
        indicators(user)
        .filter(as_of=as_of, level=Level.VILLAGE, population__gt=0)
        .filter(under_q(code, "region__pk"))
        .select_related("region")
    )
    if code and code.count(".") == 3:
        return [], []
    low_first = qs.order_by("active_pct", "coverage_pct", "region_id")
    lowest = [Figures.from_indicator(r) for r in low_first[:n]]
    highest = [
        Figures.from_indicator(r)
        for r in qs.order_by("-active_pct", "-coverage_pct", "region_id")[:n]
    ]
    return lowest, highest


@dataclass
class FindingCount:
    code: str
    severity: str
    rows: int


def finding_counts(user: Any | None, code: str, as_of: date) -> list[FindingCount]:
    """Data-quality findings of the registers current on `as_of`, inside `code`, by reason."""
    from pesiar.registers.models import Snapshot

    latest: dict[str, int] = {}
    for kind, pk in (
        Snapshot.objects.current()
        .filter(as_of__lte=as_of)
        .order_by("kind", "-as_of", "-id")
        .values_list("kind", "id")
    ):
        latest.setdefault(kind, pk)
    if not latest:
        return []
    qs = findings(user).filter(snapshot_id__in=latest.values())
    if code:
        qs = qs.filter(within_q(code, "village_code"))
    rows = qs.values("code", "severity").annotate(n=Sum("rows")).order_by("-n", "code")
    return [FindingCount(r["code"], r["severity"], r["n"]) for r in rows]


# --- what other apps add, when they are there -------------------------------------------------


def optional(module: str, name: str) -> Callable | None:
    """`module.name` when that app provides it, else None."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def call_optional(module: str, name: str, *args: Any) -> Any:
    """The result of `module.name(*args)`, or None when the function is missing or fails
    (the section is then left out, and the failure logged)."""
    func = optional(module, name)
    if func is None:
        return None
    try:
        return func(*args)
    except Exception as exc:
        logger.warning(
            "monev: %s.%s failed (%s: %s); its section is left out",
            module,
            name,
            type(exc).__name__,
            exc,
            exc_info=logger.isEnabledFor(logging.DEBUG),
        )
        return None


def period_for(
    user: Any | None, as_of: date, available: list[date] | None = None
) -> tuple[date, date]:
    """The work a Monev meeting on `as_of` reviews: from the day after the previous date with
    figures (else 30 days before) to `as_of`, or to today for the latest date."""
    available = dates(user) if available is None else available
    earlier = [d for d in available if d < as_of]
    start = earlier[0] + timedelta(days=1) if earlier else as_of - timedelta(days=30)
    end = as_of
    if not [d for d in available if d > as_of]:
        end = max(as_of, timezone.localdate())
    return start, end


def agent_kpis(user: Any | None, code: str, start: date, end: date) -> list[dict] | None:
    rows = call_optional("pesiar.field.services", "agent_kpis", user, code, start, end)
    if not rows:
        return None
    out = []
    for row in rows:
        villages = row.get("villages")
        if isinstance(villages, list | tuple | set):
            villages = ", ".join(str(v) for v in villages)
        out.append({**row, "villages_text": villages})
    return out


def worklist(user: Any | None, code: str) -> dict | None:
    progress = call_optional("pesiar.sweep.services", "worklist_progress", user, code)
    return progress if progress and progress.get("families") else None


def budget(user: Any | None, code: str, as_of: date) -> dict | None:
    """PBI-APBD proposals: the total and the children's lines, when the sweep has run."""
    total = call_optional("pesiar.sweep.services", "budget_total", user, code, as_of)
    if not total or not total.get("pbi_people"):
        return None
    lines = []
    if code.count(".") < 3:  # a village has no sub-regions to list
        lines = call_optional("pesiar.sweep.services", "budget_by_region", user, code, as_of) or []
    return {**total, "lines": [line for line in lines if line.get("pbi_people")]}


# --- the dashboard ----------------------------------------------------------------------------


@dataclass
class Share:
    key: str
    label: str
    count: int
    pct: Decimal


def shares(counts: dict[str, int], labels: dict[str, Any], whole: int) -> list[Share]:
    return [
        Share(key, str(labels.get(key, key)), counts.get(key, 0), pct(counts.get(key, 0), whole))
        for key in labels
    ]


@dataclass
class Dashboard:
    code: str
    region: Region | None
    as_of: date
    dates: list[date]
    figures: Figures
    ancestors: list[tuple[str, str, bool]]  # code, name, may the user open it
    children: list[Figures]
    child_level: int | None
    trend: list[Figures]
    lowest: list[Figures]
    highest: list[Figures]
    segments: list[Share]
    reasons: list[Share]
    findings: list[FindingCount]
    worklist: dict | None
    agents: list[dict] | None
    budget: dict | None
    period: tuple[date, date]
    targets: Targets

    @property
    def child_level_name(self) -> str:
        return str(LEVEL_PLURALS.get(self.child_level or 0, ""))

    @property
    def findings_total(self) -> int:
        return sum(f.rows for f in self.findings)


def ancestors(user: Any | None, code: str) -> list[tuple[str, str, bool]]:
    """The regions above `code` (top first): code, name, and whether the user may open it."""
    parts = code.split(".") if code else []
    codes = [".".join(parts[:i]) for i in range(1, len(parts))]
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    return [(c, names.get(c, c), can_view(user, c)) for c in codes]


def get_region(user: Any | None, code: str) -> Region | None:
    """The region (None for the nation); Http404 when unknown or outside the user's scope."""
    if code == NATION:
        return None
    if not can_view(user, code):
        raise Http404("no such region in your scope")
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise Http404("no such region")
    return region


def figures_version() -> str:
    """Changes whenever indicators are stored (newest row id and date; two indexed lookups)."""
    latest = Indicator.objects.unscoped(reason="cache key only: no figures are read").aggregate(
        id=Max("id"), as_of=Max("as_of")
    )
    return f"{latest['id'] or 0}-{latest['as_of'] or ''}"


def _viewer_key(user: Any | None) -> str:
    if user is None:
        return "cli"
    return f"{user.role}:{getattr(user, 'office', '')}:{get_scope(user).label}".replace(" ", ",")


def dashboard(
    user: Any | None, code: str, as_of: date | None = None, *, extras: bool = True
) -> Dashboard | None:
    """Everything the dashboard of `code` shows, or None when there are no figures yet.

    `extras=False` leaves out what the sweep and the field apps add (worklist, budget, agents:
    see `extra_sections`), which the dashboard page loads after the figures."""
    region = get_region(user, code)
    viewer = _viewer_key(user)
    key = f"monev:dashboard:{viewer}:{code}:{as_of}:{figures_version()}:{get_language()}"
    board = cache.get(key)
    if board is None:
        board = _figures_dashboard(user, code, region, as_of)
        cache.set(key, board or "none", CACHE_SECONDS)
    if board is None or board == "none":
        return None
    if not extras:
        return board
    return dataclasses.replace(board, **extra_sections(user, code, board.as_of, board.period))


def extra_sections(user: Any | None, code: str, as_of: date, period: tuple[date, date]) -> dict:
    """Worklist progress, PBI-APBD budget and agents' KPIs when the sweep and field apps
    provide them (each None otherwise), cached for OPTIONAL_SECONDS."""
    key = f"monev:extra:{_viewer_key(user)}:{code}:{as_of}:{period[1]}"
    extra = cache.get(key)
    if extra is None:
        extra = {
            "worklist": worklist(user, code),
            "agents": agent_kpis(user, code, *period) if code else None,
            "budget": budget(user, code, as_of),
        }
        cache.set(key, extra, OPTIONAL_SECONDS)
    return extra


def _figures_dashboard(
    user: Any | None, code: str, region: Region | None, as_of: date | None
) -> Dashboard | None:
    available = dates(user)
    as_of = resolve_as_of(user, as_of, available)
    if as_of is None:
        return None
    figures = region_figures(user, code, as_of)
    if figures is None:
        return None
    children = children_figures(user, code, as_of)
    child_level = children[0].level if children else None
    lowest, highest = extreme_villages(user, code, as_of)
    period = period_for(user, as_of, available)
    return Dashboard(
        code=code,
        region=region,
        as_of=as_of,
        dates=available,
        figures=figures,
        ancestors=ancestors(user, code),
        children=children,
        child_level=child_level,
        trend=trend(user, code),
        lowest=lowest,
        highest=highest,
        segments=shares(figures.segments, SEGMENT_LABELS, figures.registered),
        reasons=shares(figures.inactive_reasons, REASON_LABELS, figures.inactive),
        findings=finding_counts(user, code, as_of),
        worklist=None,
        agents=None,
        budget=None,
        period=period,
        targets=Targets.from_settings(),
    )


# --- rankings -----------------------------------------------------------------------------------

# Ascending order of each sort key ("rank" ascending is best first); descending reverses it.
SORTS = {
    "rank": ("-active_pct", "-coverage_pct", "region_id"),
    "name": ("region__name", "region_id"),
    "code": ("region_id",),
    "population": ("population", "region_id"),
    "coverage": ("coverage_pct", "active_pct", "region_id"),
    "active": ("active_pct", "coverage_pct", "region_id"),
    "to_target_active": ("to_target_active", "region_id"),
    "to_target_coverage": ("to_target_coverage", "region_id"),
}
LEVEL_KEYS = {"province": 1, "regency": 2, "district": 3, "village": 4}


def _reverse(order: Sequence[str]) -> list[str]:
    return [o[1:] if o.startswith("-") else "-" + o for o in order]


@dataclass
class Ranking:
    level: int
    within: str
    as_of: date
    sort: str
    descending: bool
    page: Page
    rows: list[Figures]
    top: set[str]
    bottom: set[str]
    total: int
    uhc_class: str
    query: str


def ranking(
    user: Any | None,
    *,
    level: int,
    as_of: date,
    within: str = "",
    sort: str = "rank",
    descending: bool = False,
    query: str = "",
    uhc_class: str = "",
    page: int | str = 1,
    per_page: int = 50,
    highlight: int = 10,
) -> Ranking:
    """The regions of one level inside `within`, sorted and filtered, one page of them, and
    the top and bottom `highlight` of the filtered set (by active %, then coverage %)."""
    qs = indicators(user).filter(as_of=as_of, level=level, population__gt=0)
    if within:
        qs = qs.filter(under_q(within, "region__pk"))
    if uhc_class:
        qs = qs.filter(uhc_class=uhc_class)
    if query:
        qs = qs.filter(Q(region__name__icontains=query) | Q(region__pk__startswith=query))
    order = SORTS.get(sort) or SORTS["rank"]
    if descending:
        order = _reverse(order)
    paginator = Paginator(qs.order_by(*order).values(*VALUE_FIELDS), per_page)
    current = paginator.get_page(page)
    rows = [Figures.from_values(r) for r in current.object_list]
    best = SORTS["rank"]
    top = set(qs.order_by(*best).values_list("region_id", flat=True)[:highlight])
    bottom = set(qs.order_by(*_reverse(best)).values_list("region_id", flat=True)[:highlight])
    if paginator.count <= highlight:
        bottom = set()
    return Ranking(
        level=level,
        within=within,
        as_of=as_of,
        sort=sort if sort in SORTS else "rank",
        descending=descending,
        page=current,
        rows=rows,
        top=top,
        bottom=bottom - top,
        total=paginator.count,
        uhc_class=uhc_class,
        query=query,
    )


# --- the map ------------------------------------------------------------------------------------

# Up to five classes by quintile of the children's values (ColorBrewer RdYlGn), so the meeting
# sees at a glance who lags behind, even when one region is far ahead; the target is in the legend.
PALETTE = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
NO_DATA = "#d9e1e6"


def bins(values: Sequence[Decimal]) -> list[Decimal]:
    """Lower bounds of the colour classes: the quintiles of the values (fewer when they repeat)."""
    if not values:
        return [Decimal(0)]
    ordered = sorted(values)
    n = len(ordered)
    bounds: list[Decimal] = []
    for i in range(len(PALETTE)):
        bound = ordered[i * n // len(PALETTE)]
        if not bounds or bound > bounds[-1]:
            bounds.append(bound)
    return bounds


def _class_colours(count: int) -> list[str]:
    if count == 1:
        return [PALETTE[len(PALETTE) // 2]]
    return [PALETTE[round(i * (len(PALETTE) - 1) / (count - 1))] for i in range(count)]


def colour(value: Decimal | None, bounds: Sequence[Decimal]) -> str:
    if value is None:
        return NO_DATA
    fills = _class_colours(len(bounds))
    chosen = fills[0]
    for bound, fill in zip(bounds, fills, strict=True):
        if value >= bound:
            chosen = fill
    return chosen


def legend(bounds: Sequence[Decimal], high: Decimal | None = None) -> list[tuple[str, str]]:
    """(colour, label) per class, numbers in the current language ('72,50' in Indonesian)."""

    def n(value: Decimal) -> str:
        return formats.number_format(value, 2)

    out = []
    for i, fill in enumerate(_class_colours(len(bounds))):
        upper = bounds[i + 1] if i + 1 < len(bounds) else high
        if upper is None or upper == bounds[i]:
            out.append((fill, f"{n(bounds[i])}%"))
        elif i + 1 < len(bounds):
            out.append((fill, f"{n(bounds[i])} - < {n(upper)}%"))
        else:
            out.append((fill, f"{n(bounds[i])} - {n(upper)}%"))
    return out


@dataclass
class MapShape:
    code: str
    name: str
    path: str
    fill: str
    value: Decimal | None
    url_code: str


@dataclass
class MapTile:
    code: str
    name: str
    value: Decimal
    fill: str


@dataclass
class ChoroplethMap:
    metric: str
    target: Decimal
    children: list[Figures]
    shapes: list[MapShape]
    viewbox: str
    stroke: float
    legend: list[tuple[str, str]]
    bounds: list[Decimal]
    missing: list[Figures]  # children with figures but no outline
    tiles: list[MapTile]  # the fallback: children ranked by the metric, coloured

    @property
    def has_boundaries(self) -> bool:
        return bool(self.shapes)


def choropleth(
    user: Any | None, code: str, as_of: date, metric: str = "active", children=None
) -> ChoroplethMap:
    """The children of `code` coloured by `metric`, with outlines when they were imported.

    A child without an outline of its own is drawn with the outlines of its descendants at
    the first level below it that has them, all in the child's colour.
    """
    metric = metric if metric in METRICS else "active"
    targets = Targets.from_settings()
    target = targets.coverage_pct if metric == "coverage" else targets.active_pct
    if children is None:
        children = children_figures(user, code, as_of)
    by_code = {c.code: c for c in children}
    values = [c.metric(metric) for c in children]
    bounds = bins(values)
    shapes: list[MapShape] = []
    box = [180.0, 90.0, -180.0, -90.0]
    if children:
        child_level = children[0].level
        width = CODE_LENGTH[child_level]
        qs = boundaries(user).filter(under_q(code, "region__pk"))
        levels = sorted(
            set(qs.order_by().values_list("level", flat=True).distinct()) & {1, 2, 3, 4}
        )
        usable = [lv for lv in levels if lv >= child_level]
        drawn: set[str] = set()
        for lv in usable:
            missing = set(by_code) - drawn
            if not missing:
                break
            rows = qs.filter(level=lv).values_list(
                "region_id", "path", "min_lon", "min_lat", "max_lon", "max_lat"
            )
            if lv == child_level:
                rows = rows.filter(region_id__in=missing)
            found: set[str] = set()
            for region_id, path, x0, y0, x1, y1 in rows:
                owner = region_id[:width]
                if owner not in missing:
                    continue
                child = by_code[owner]
                value = child.metric(metric)
                shapes.append(
                    MapShape(owner, child.name, path, colour(value, bounds), value, owner)
                )
                found.add(owner)
                box = [min(box[0], x0), min(box[1], y0), max(box[2], x1), max(box[3], y1)]
            drawn |= found
    viewbox, stroke = "0 0 1 1", 0.001
    if shapes:
        w, h = max(box[2] - box[0], 1e-6), max(box[3] - box[1], 1e-6)
        pad = max(w, h) * 0.02
        viewbox = f"{box[0] - pad:.5f} {-box[3] - pad:.5f} {w + 2 * pad:.5f} {h + 2 * pad:.5f}"
        stroke = max(w, h) / 600
    drawn_codes = {s.code for s in shapes}
    return ChoroplethMap(
        metric=metric,
        target=target,
        children=children,
        shapes=shapes,
        viewbox=viewbox,
        stroke=stroke,
        legend=legend(bounds, max(values) if values else None),
        bounds=bounds,
        missing=[c for c in children if c.code not in drawn_codes] if shapes else [],
        tiles=[
            MapTile(c.code, c.name, c.metric(metric), colour(c.metric(metric), bounds))
            for c in sorted(children, key=lambda c: (-c.metric(metric), c.code))
        ],
    )


# --- importing boundaries -------------------------------------------------------------------


@dataclass
class BoundaryReport:
    features: int = 0
    matched: int = 0
    created: int = 0
    updated: int = 0
    points: int = 0
    by_level: dict[int, int] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        levels = ", ".join(f"{LEVEL_NAMES[lv]}: {n}" for lv, n in sorted(self.by_level.items()))
        out = [
            f"{self.features} features, {self.matched} matched to regions "
            f"({self.created} new, {self.updated} updated; {levels or 'none'}), "
            f"{self.points:,} points after simplifying"
        ]
        if self.unmatched:
            out.append(f"{len(self.unmatched)} features match no region code:")
            out += [f"  {label}" for label in self.unmatched[:50]]
            if len(self.unmatched) > 50:
                out.append(f"  ... and {len(self.unmatched) - 50} more")
        return out


def import_boundaries(
    path: Path, *, within: str | None = None, tolerance: float = 0.0005
) -> BoundaryReport:
    """Store the outlines of a GeoJSON/TopoJSON file by region code (replacing earlier ones
    of the same regions). Features are matched by a code property (kode, code, KODE_DESA, ...,
    dotted or not); those that match no region (or lie outside `within`) are reported."""
    features = geo.read_features(path)
    known = set(Region.objects.values_list("code", flat=True))
    levels = dict(Region.objects.values_list("code", "level")) if features else {}
    report = BoundaryReport(features=len(features))
    outlines: dict[str, geo.Outline] = {}
    for feature in features:
        code = geo.find_code(feature, known)
        if code is None or (within and not is_within(code, within)):
            report.unmatched.append(feature.label())
            continue
        line = geo.outline(feature.polygons, tolerance)
        if code in outlines:  # several features of one region: one multipolygon
            before = outlines[code]
            box = before.bbox
            line = geo.Outline(
                before.geometry + line.geometry,
                before.path + line.path,
                (
                    min(box[0], line.bbox[0]),
                    min(box[1], line.bbox[1]),
                    max(box[2], line.bbox[2]),
                    max(box[3], line.bbox[3]),
                ),
                before.points + line.points,
            )
        outlines[code] = line
    existing = set(
        Boundary.objects.unscoped(reason="importing outlines")
        .filter(region_id__in=list(outlines))
        .values_list("region_id", flat=True)
    )
    name = Path(path).name
    with transaction.atomic():
        Boundary.objects.unscoped(reason="replacing imported outlines").filter(
            region_id__in=list(outlines)
        ).delete()
        Boundary.objects.bulk_create(
            [
                Boundary(
                    region_id=code,
                    level=levels[code],
                    geometry=line.geometry,
                    path=line.path,
                    min_lon=line.bbox[0],
                    min_lat=line.bbox[1],
                    max_lon=line.bbox[2],
                    max_lat=line.bbox[3],
                    source=name[:255],
                )
                for code, line in outlines.items()
            ],
            batch_size=500,
        )
    report.matched = len(outlines)
    report.updated = len(existing)
    report.created = report.matched - report.updated
    report.points = sum(line.points for line in outlines.values())
    for code in outlines:
        report.by_level[levels[code]] = report.by_level.get(levels[code], 0) + 1
    return report


# --- the trend chart -----------------------------------------------------------------------------


@dataclass
class TrendChart:
    width: int
    height: int
    lines: list[dict]  # key, label, points "x,y x,y", dots [(x, y, date, value)]
    targets: list[dict]  # label, y
    ticks: list[dict]  # x, label
    grid: list[dict]  # y, label


def trend_chart(points: Sequence[Figures], targets: Targets) -> TrendChart | None:
    """An SVG line chart of coverage % and active % over the dates (y from 0 to 100)."""
    if not points:
        return None
    width, height, left, right, top, bottom = 640, 220, 40, 16, 12, 28
    inner_w, inner_h = width - left - right, height - top - bottom
    n = len(points)

    def x(i: int) -> float:
        return left + (inner_w / 2 if n == 1 else inner_w * i / (n - 1))

    def y(value: Decimal | float) -> float:
        return top + inner_h * (1 - float(value) / 100)

    lines = []
    colours = {"coverage": "#2b83ba", "active": "#0a7d55"}
    for key, label in (("coverage", _("Coverage %")), ("active", _("Active %"))):
        dots = [
            (f"{x(i):.1f}", f"{y(p.metric(key)):.1f}", p.as_of, p.metric(key))
            for i, p in enumerate(points)
        ]
        lines.append(
            {
                "key": key,
                "label": label,
                "colour": colours[key],
                "points": " ".join(f"{a},{b}" for a, b, _d, _v in dots),
                "dots": dots,
            }
        )
    return TrendChart(
        width=width,
        height=height,
        lines=lines,
        targets=[
            {"label": f"{targets.coverage_pct:g}%", "y": f"{y(targets.coverage_pct):.1f}"},
            {"label": f"{targets.active_pct:g}%", "y": f"{y(targets.active_pct):.1f}"},
        ],
        ticks=[
            {"x": f"{x(i):.1f}", "label": p.as_of.strftime("%m/%Y")}
            for i, p in enumerate(points)
            if n <= 12 or i % max(1, n // 12) == 0
        ],
        grid=[{"y": f"{y(v):.1f}", "label": str(v)} for v in (0, 25, 50, 75, 100)],
    )

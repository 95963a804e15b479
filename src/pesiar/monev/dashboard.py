"""Monev: the dashboard of one region, with what the sweep and field apps add."""

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Max
from django.http import Http404
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from pesiar.accounts.scoping import get_scope
from pesiar.campaigns import report as campaign_report
from pesiar.coverage.models import Indicator
from pesiar.coverage.services import Targets, pct
from pesiar.field import services as field_services
from pesiar.monev.changes import (
    Churn,
    TargetPath,
    agents_within,
    attach_previous,
    churn,
    previous_date,
    target_path,
)
from pesiar.monev.figures import (
    Figures,
    FindingCount,
    children_figures,
    extreme_villages,
    finding_counts,
    region_figures,
    small_count,
    trend,
)
from pesiar.monev.scope import (
    CACHE_SECONDS,
    LEVEL_PLURALS,
    NATION,
    OPTIONAL_SECONDS,
    can_view,
    dates,
    in_scope,
    indicators,
    resolve_as_of,
)
from pesiar.regions.models import Region
from pesiar.registers.vocabulary import REASON_LABELS, SEGMENT_LABELS
from pesiar.sweep import services as sweep_services

logger = logging.getLogger(__name__)

# --- what the sweep and field apps add -------------------------------------------------


PERIOD_OPEN_DAYS = 45


def period_for(
    user: Any | None, as_of: date, available: list[date] | None = None
) -> tuple[date, date]:
    """The work a Monev meeting on `as_of` reviews: the month that date's snapshot closes,
    from the day after the previous date with figures (else 30 days before) to `as_of`.

    For the latest date the month under way counts too, up to today, while today is within
    PERIOD_OPEN_DAYS of it (the next snapshot is then due); an older snapshot is not stretched
    to today, so its agents' figures stay those of its month."""
    available = dates(user) if available is None else available
    earlier = [d for d in available if d < as_of]
    start = earlier[0] + timedelta(days=1) if earlier else as_of - timedelta(days=30)
    end = as_of
    today = timezone.localdate()
    latest = not [d for d in available if d > as_of]
    if latest and as_of < today <= as_of + timedelta(days=PERIOD_OPEN_DAYS):
        end = today
    return start, end


def agent_kpis(user: Any | None, code: str, start: date, end: date) -> list[dict] | None:
    rows = field_services.agent_kpis(user, code, start, end)
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
    progress = sweep_services.worklist_progress(user, code)
    return progress if progress and progress.get("families") else None


def budget(user: Any | None, code: str, as_of: date) -> dict | None:
    """PBI-APBD proposals: the total and the children's lines, when the sweep has run."""
    total = sweep_services.budget_total(user, code, as_of)
    if not total or not total.get("pbi_people"):
        return None
    lines = []
    if code.count(".") < 3:  # a village has no sub-regions to list
        lines = sweep_services.budget_by_region(user, code, as_of) or []
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
    previous_as_of: date | None = None
    peers: list[Figures] = dataclasses.field(default_factory=list)
    rank_text: str = ""
    churn: Churn | None = None
    path: TargetPath | None = None
    own: bool = True  # inside the user's own regions (not only a peer)
    hidden_small: int = 0  # villages whose figures a viewer does not see (under small_count)
    small_count: int = 0
    campaigns: list | None = None  # campaigns in or above the region (campaigns.report)

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
    """Worklist progress, PBI-APBD budget, agents' KPIs and campaigns (each None when there
    is nothing to show yet), cached for OPTIONAL_SECONDS. A failure in them is an error of
    the page, like any other: it is not hidden behind a missing section."""
    key = f"monev:extra:{_viewer_key(user)}:{code}:{as_of}:{period[1]}"
    extra = cache.get(key)
    if extra is None:
        extra = {
            "worklist": worklist(user, code),
            "agents": agent_kpis(user, code, *period) if code else None,
            "budget": budget(user, code, as_of),
            "campaigns": campaign_report.section(user, code, as_of) or None,
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
    previous = previous_date(available, as_of)
    peers = peer_figures(user, code, as_of)
    attach_previous(user, [figures, *children, *lowest, *highest, *peers], previous)
    history = [] if figures.hidden else trend(user, code)
    own = in_scope(user, code) and not figures.hidden
    return Dashboard(
        code=code,
        region=region,
        as_of=as_of,
        dates=available,
        figures=figures,
        ancestors=ancestors(user, code),
        children=children,
        child_level=child_level,
        trend=history,
        lowest=lowest,
        highest=highest,
        segments=[]
        if figures.hidden
        else shares(figures.segments, SEGMENT_LABELS, figures.registered),
        reasons=[]
        if figures.hidden
        else shares(figures.inactive_reasons, REASON_LABELS, figures.inactive),
        findings=finding_counts(user, code, as_of),
        worklist=None,
        agents=None,
        budget=None,
        period=period,
        targets=Targets.from_settings(),
        previous_as_of=previous,
        peers=peers,
        rank_text=rank_text(figures, ancestors(user, code)),
        churn=churn(user, code, as_of, children) if own else None,
        path=target_path(figures, history, agents_within(code)) if own else None,
        own=own,
        hidden_small=sum(f.hidden for f in children),
        small_count=small_count(),
    )


def peer_figures(user: Any | None, code: str, as_of: date) -> list[Figures]:
    """The region and its siblings (the children of its parent), ranked: what the meeting
    compares with. Empty for the nation."""
    if code == NATION:
        return []
    if "." not in code:
        rows = indicators(user).filter(as_of=as_of, level=1).select_related("region")
        peers = [Figures.from_indicator(r) for r in rows]
        return sorted(peers, key=lambda f: (-f.active_pct, -f.coverage_pct, f.code))
    return children_figures(user, code.rsplit(".", 1)[0], as_of)


def rank_text(figures: Figures, above: list[tuple[str, str, bool]]) -> str:
    """'No. 10 of 11 regencies/cities in Jambi' (in the current language)."""
    if not figures.rank or not figures.rank_of:
        return ""
    plural = str(LEVEL_PLURALS.get(figures.level, "")).lower()
    parent = above[-1][1] if above else _("Indonesia")
    return _("No. %(rank)s of %(of)s %(plural)s in %(parent)s") % {
        "rank": figures.rank,
        "of": figures.rank_of,
        "plural": plural,
        "parent": parent,
    }

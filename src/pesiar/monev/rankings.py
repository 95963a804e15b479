"""Monev: the ranking of the regions of one level, sorted, filtered and paged."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q

from pesiar.monev.figures import VALUE_FIELDS, Figures, hides_small, small_count
from pesiar.monev.scope import indicators
from pesiar.regions.models import Level, under_q

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
    hidden_small: int = 0  # small villages left out for a viewer
    small_count: int = 0


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
    hidden = 0
    if level == Level.VILLAGE and hides_small(user):
        # A viewer's ranking leaves out the villages too small to show (their place in it
        # would tell their figures); the page says how many.
        hidden = qs.filter(population__lt=small_count()).count()
        qs = qs.filter(population__gte=small_count())
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
        hidden_small=hidden,
        small_count=small_count(),
    )

"""Monev: the choropleth map of a region's children (or a ranked grid without outlines)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import formats

from pesiar.coverage.services import Targets
from pesiar.monev.figures import Figures, children_figures
from pesiar.monev.scope import METRICS, boundaries
from pesiar.regions.models import CODE_LENGTH, under_q

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
    values = [c.metric(metric) for c in children if not c.hidden]
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
        legend=legend(bounds, max(values)) if values else [],
        bounds=bounds,
        missing=[c for c in children if c.code not in drawn_codes] if shapes else [],
        tiles=[
            MapTile(c.code, c.name, c.metric(metric), colour(c.metric(metric), bounds))
            for c in sorted(children, key=lambda c: (c.hidden, -(c.metric(metric) or 0), c.code))
        ],
    )

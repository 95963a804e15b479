"""Monev: the trend chart (inline SVG)."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from pesiar.coverage.services import Targets
from pesiar.monev.figures import Figures

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

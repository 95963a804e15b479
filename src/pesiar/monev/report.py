"""The Monev meeting report of a region on a date, as PDF (WeasyPrint) and XLSX (openpyxl).

Always in Bahasa Indonesia: the report goes on the table of the Sekda's meeting.
"""

import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pesiar.coverage.services import Targets
from pesiar.monev import report_sheets, services
from pesiar.monev.changes import attach_previous, target_path
from pesiar.monev.figures import hide_small
from pesiar.monev.services import Figures
from pesiar.regions.models import Level, under_q

REPORT_LANGUAGE = "id"
SHEETS = report_sheets.SHEETS


class ReportError(ValueError):
    """No figures for the region and date."""


@dataclass
class Report:
    code: str
    as_of: date
    dashboard: services.Dashboard
    ranking: list[Figures]
    villages: list[Figures]
    lowest: list[Figures]
    highest: list[Figures]
    map: services.ChoroplethMap
    generated: Any
    plans: list = field(default_factory=list)  # (lowest village, its TargetPath)

    @property
    def figures(self) -> Figures:
        return self.dashboard.figures

    @property
    def title(self) -> str:
        return _("Monev report: %(name)s, %(date)s") % {
            "name": self.figures.name,
            "date": self.as_of.strftime("%d-%m-%Y"),
        }

    def filename(self, extension: str) -> str:
        name = self.code or "indonesia"
        return f"monev-{name}-{self.as_of.isoformat()}.{extension}"


def build(user: Any | None, code: str, as_of: date | None = None) -> Report:
    """The report's figures: the dashboard's, plus all villages and the ten lowest/highest."""
    board = services.dashboard(user, code, as_of)
    if board is None:
        raise ReportError(_("There are no figures for this region and date yet."))
    lowest, highest = services.extreme_villages(user, code, board.as_of, n=10)
    attach_previous(user, [*lowest, *highest], board.previous_as_of)
    village_rows = (
        services.indicators(user)
        .filter(as_of=board.as_of, level=Level.VILLAGE, population__gt=0)
        .filter(under_q(code, "region__pk"))
        .select_related("region")
        .order_by("region_id")
    )
    villages = []
    if board.figures.level < Level.VILLAGE:
        villages = [Figures.from_indicator(v) for v in village_rows]
        hide_small(user, villages)
    return Report(
        code=code,
        as_of=board.as_of,
        dashboard=board,
        ranking=board.children,
        villages=villages,
        lowest=lowest,
        highest=highest,
        map=services.choropleth(user, code, board.as_of, "active", board.children),
        generated=timezone.localtime(),
        plans=[(v, target_path(v, [], agents=0)) for v in lowest],
    )


def render_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    with translation.override(REPORT_LANGUAGE):
        html = render_to_string(
            "monev/report_pdf.html",
            {
                "r": report,
                "d": report.dashboard,
                "f": report.figures,
                "targets": Targets.from_settings(),
                "title": report.title,
                "region_url": reverse("monev:home") + "r/",
                "trend_chart": services.trend_chart(
                    report.dashboard.trend, Targets.from_settings()
                ),
            },
        )
    return HTML(string=html, base_url=".").write_pdf()


def write_xlsx(report: Report) -> bytes:
    """The report as a workbook with the sheets in SHEETS (in the report's language)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    with translation.override(REPORT_LANGUAGE):
        for sheet in report_sheets.SHEET_WRITERS:
            sheet(book, report)
    report_sheets.finish(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


FORMATS = {
    "pdf": ("application/pdf", render_pdf),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", write_xlsx),
}


def export(user: Any | None, code: str, as_of: date | None, fmt: str) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the report in `fmt` ('pdf' or 'xlsx')."""
    content_type, writer = FORMATS[fmt]
    report = build(user, code, as_of)
    return writer(report), content_type, report.filename(fmt)

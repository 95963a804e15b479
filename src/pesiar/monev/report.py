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
from pesiar.monev import services
from pesiar.monev.changes import attach_previous, target_path
from pesiar.monev.report_sheets import add_change_sheets
from pesiar.monev.services import Figures
from pesiar.regions.models import Level, under_q

REPORT_LANGUAGE = "id"
SHEETS = ("Ringkasan", "Peringkat", "Desa", "Tren", "Agen", "Anggaran", "Perubahan", "Jalan")


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
    villages = (
        services.indicators(user)
        .filter(as_of=board.as_of, level=Level.VILLAGE, population__gt=0)
        .filter(under_q(code, "region__pk"))
        .select_related("region")
        .order_by("region_id")
    )
    return Report(
        code=code,
        as_of=board.as_of,
        dashboard=board,
        ranking=board.children,
        villages=[Figures.from_indicator(v) for v in villages]
        if board.figures.level < Level.VILLAGE
        else [],
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


def _figure_columns() -> list[str]:
    return [
        _("Code"),
        _("Name"),
        _("Population"),
        _("Registered"),
        _("Active"),
        _("Coverage %"),
        _("Active %"),
        _("People to the coverage target"),
        _("People to the activity target"),
        _("Rank"),
        _("of"),
        _("UHC class"),
    ]


def _figure_row(f: Figures) -> list:
    return [
        f.code,
        f.name,
        f.population,
        f.registered,
        f.active,
        float(f.coverage_pct),
        float(f.active_pct),
        f.to_target_coverage,
        f.to_target_active,
        f.rank,
        f.rank_of,
        services.uhc_label(f.uhc_class),
    ]


def write_xlsx(report: Report) -> bytes:
    """The report as a workbook with the sheets in SHEETS."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    from pesiar.accounts.cells import is_formula_like

    bold = Font(bold=True)
    top_fill = PatternFill("solid", fgColor="C7E9C0")
    bottom_fill = PatternFill("solid", fgColor="FCBBA1")
    f = report.figures
    d = report.dashboard
    book = Workbook()
    with translation.override(REPORT_LANGUAGE):
        summary = book.active
        summary.title = "Ringkasan"
        summary.append([report.title])
        summary["A1"].font = Font(bold=True, size=14)
        summary.append([])
        lines = [
            (_("Region"), f"{f.name} ({f.code or '-'})"),
            (_("As of"), report.as_of),
            (_("Population"), f.population),
            (_("Registered"), f.registered),
            (_("Active"), f.active),
            (_("Coverage %"), float(f.coverage_pct)),
            (_("Active %"), float(f.active_pct)),
            (
                _("People to the coverage target (%(t)s%%)") % {"t": f"{d.targets.coverage_pct:g}"},
                f.to_target_coverage,
            ),
            (
                _("People to the activity target (%(t)s%%)") % {"t": f"{d.targets.active_pct:g}"},
                f.to_target_active,
            ),
            (_("Rank"), f"{f.rank} / {f.rank_of}" if f.rank else "-"),
            (_("UHC class"), services.uhc_label(f.uhc_class)),
            (_("Participants without a resident"), f.unmatched_participants),
            (_("Deceased residents still listed"), f.deceased_listed),
        ]
        if d.budget:
            lines += [
                (_("PBI-APBD proposals (people)"), d.budget["pbi_people"]),
                (_("PBI-APBD yearly cost (Rp)"), d.budget["yearly_cost"]),
            ]
        for label, value in lines:
            summary.append([label, value])
        summary.append([])
        summary.append([_("Registered by segment"), _("People"), "%"])
        for share in d.segments:
            summary.append([share.label, share.count, float(share.pct)])
        summary.append([])
        summary.append([_("Inactive by reason"), _("People"), "%"])
        for share in d.reasons:
            summary.append([share.label, share.count, float(share.pct)])
        summary.append([])
        summary.append([_("Generated"), report.generated.strftime("%d-%m-%Y %H:%M")])

        ranking = book.create_sheet("Peringkat")
        ranking.append([_("Position"), *_figure_columns()])
        count = len(report.ranking)
        for position, child in enumerate(report.ranking, 1):
            ranking.append([position, *_figure_row(child)])
            if count > 20 and position <= 10:
                ranking.cell(row=position + 1, column=1).fill = top_fill
            elif count > 20 and position > count - 10:
                ranking.cell(row=position + 1, column=1).fill = bottom_fill

        villages = book.create_sheet("Desa")
        villages.append(_figure_columns())
        for v in report.villages:
            villages.append(_figure_row(v))

        tren = book.create_sheet("Tren")
        tren.append(
            [
                _("As of"),
                _("Population"),
                _("Registered"),
                _("Active"),
                _("Coverage %"),
                _("Active %"),
                _("People to the activity target"),
            ]
        )
        for t in d.trend:
            tren.append(
                [
                    t.as_of,
                    t.population,
                    t.registered,
                    t.active,
                    float(t.coverage_pct),
                    float(t.active_pct),
                    t.to_target_active,
                ]
            )

        agents = book.create_sheet("Agen")
        agent_columns = [
            ("name", _("Agent")),
            ("villages", _("Villages")),
            ("families_visited", _("Families visited")),
            ("registrations_submitted", _("Registrations submitted")),
            ("confirmed", _("Confirmed")),
            ("activated", _("Activated")),
            ("events", _("Events")),
            ("attendance", _("Attendance")),
        ]
        agents.append([label for _key, label in agent_columns])
        if d.agents:
            for row in d.agents:
                agents.append([_cell(row.get(key)) for key, _label in agent_columns])
        else:
            agents.append([_("No agent activity recorded for this period.")])

        money = book.create_sheet("Anggaran")
        money.append(
            [_("Code"), _("Name"), _("PBI-APBD proposals (people)"), _("Yearly cost (Rp)")]
        )
        if d.budget:
            for line in d.budget["lines"]:
                money.append([line["code"], line["name"], line["pbi_people"], line["yearly_cost"]])
            money.append([f.code, _("Total"), d.budget["pbi_people"], d.budget["yearly_cost"]])
            money.append([])
            money.append([_("Premium per person per month (Rp)"), d.budget["premium_per_month"]])
        else:
            money.append([_("No PBI-APBD proposals yet (run the sweep).")])

        add_change_sheets(book, report)

    for sheet in book.worksheets:
        for cell in sheet[1 if sheet.title != "Ringkasan" else 3]:
            cell.font = bold
        for i, column in enumerate(sheet.columns, 1):
            width = max((len(str(c.value)) for c in column if c.value is not None), default=8)
            sheet.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 48)
        if sheet.title != "Ringkasan":
            sheet.freeze_panes = "A2"
        for row in sheet.iter_rows():
            for cell in row:
                if is_formula_like(cell.value):  # names typed by people stay text
                    cell.data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return value


FORMATS = {
    "pdf": ("application/pdf", render_pdf),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", write_xlsx),
}


def export(user: Any | None, code: str, as_of: date | None, fmt: str) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the report in `fmt` ('pdf' or 'xlsx')."""
    content_type, writer = FORMATS[fmt]
    report = build(user, code, as_of)
    return writer(report), content_type, report.filename(fmt)

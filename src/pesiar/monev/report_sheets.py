"""The sheets of the Monev report's workbook, each written by one function, in words for
officials: the summary, the ranking, the villages, the trend, the agents, the budget, the
churn radar (`Perubahan`) and the path to the targets (`Jalan`)."""

from decimal import Decimal
from typing import Any

from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from pesiar.monev import services
from pesiar.monev.figures import Figures

SHEETS = ("Ringkasan", "Peringkat", "Desa", "Tren", "Agen", "Anggaran", "Perubahan", "Jalan")


def _number(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def figure_columns() -> list[str]:
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


def figure_row(f: Figures) -> list:
    """One region's figures (a small village's are empty for a viewer: `Figures.hide`)."""
    return [
        f.code,
        f.name,
        f.population,
        f.registered,
        f.active,
        _number(f.coverage_pct),
        _number(f.active_pct),
        f.to_target_coverage,
        f.to_target_active,
        f.rank,
        f.rank_of,
        services.uhc_label(f.uhc_class) if f.uhc_class else "",
    ]


def cell(value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return value


def summary_sheet(book: Any, report: Any) -> None:
    from openpyxl.styles import Font

    f, d = report.figures, report.dashboard
    sheet = book.create_sheet("Ringkasan")
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    lines = [
        (_("Region"), f"{f.name} ({f.code or '-'})"),
        (_("As of"), report.as_of),
        (_("Population"), f.population),
        (_("Registered"), f.registered),
        (_("Active"), f.active),
        (_("Coverage %"), _number(f.coverage_pct)),
        (_("Active %"), _number(f.active_pct)),
        (
            _("People to the coverage target (%(t)s%%)") % {"t": f"{d.targets.coverage_pct:g}"},
            f.to_target_coverage,
        ),
        (
            _("People to the activity target (%(t)s%%)") % {"t": f"{d.targets.active_pct:g}"},
            f.to_target_active,
        ),
        (_("Rank"), f"{f.rank} / {f.rank_of}" if f.rank else "-"),
        (_("UHC class"), services.uhc_label(f.uhc_class) if f.uhc_class else "-"),
        (_("Participants without a resident"), f.unmatched_participants),
        (_("Deceased residents still listed"), f.deceased_listed),
    ]
    if d.budget:
        lines += [
            (_("PBI-APBD proposals (people)"), d.budget["pbi_people"]),
            (_("PBI-APBD yearly cost (Rp)"), d.budget["yearly_cost"]),
        ]
    for label, value in lines:
        sheet.append([label, value])
    for title, shares in (
        (_("Registered by segment"), d.segments),
        (_("Inactive by reason"), d.reasons),
    ):
        sheet.append([])
        sheet.append([title, _("People"), "%"])
        for share in shares:
            sheet.append([share.label, share.count, _number(share.pct)])
    sheet.append([])
    sheet.append([_("Generated"), report.generated.strftime("%d-%m-%Y %H:%M")])


def ranking_sheet(book: Any, report: Any) -> None:
    from openpyxl.styles import PatternFill

    top_fill = PatternFill("solid", fgColor="C7E9C0")
    bottom_fill = PatternFill("solid", fgColor="FCBBA1")
    sheet = book.create_sheet("Peringkat")
    sheet.append([_("Position"), *figure_columns()])
    count = len(report.ranking)
    for position, child in enumerate(report.ranking, 1):
        sheet.append([position, *figure_row(child)])
        if count > 20 and position <= 10:
            sheet.cell(row=position + 1, column=1).fill = top_fill
        elif count > 20 and position > count - 10:
            sheet.cell(row=position + 1, column=1).fill = bottom_fill


def villages_sheet(book: Any, report: Any) -> None:
    sheet = book.create_sheet("Desa")
    sheet.append(figure_columns())
    for village in report.villages:
        sheet.append(figure_row(village))


def trend_sheet(book: Any, report: Any) -> None:
    sheet = book.create_sheet("Tren")
    sheet.append(
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
    for t in report.dashboard.trend:
        sheet.append(
            [
                t.as_of,
                t.population,
                t.registered,
                t.active,
                _number(t.coverage_pct),
                _number(t.active_pct),
                t.to_target_active,
            ]
        )


AGENT_COLUMNS = (
    ("name", gettext_noop("Agent")),
    ("villages", gettext_noop("Villages")),
    ("families_visited", gettext_noop("Families visited")),
    ("registrations_submitted", gettext_noop("Registrations submitted")),
    ("confirmed", gettext_noop("Confirmed")),
    ("activated", gettext_noop("Activated")),
    ("events", gettext_noop("Events")),
    ("attendance", gettext_noop("Attendance")),
)


def agents_sheet(book: Any, report: Any) -> None:
    sheet = book.create_sheet("Agen")
    sheet.append([_(label) for _key, label in AGENT_COLUMNS])
    agents = report.dashboard.agents
    if not agents:
        sheet.append([_("No agent activity recorded for this period.")])
    for row in agents or ():
        sheet.append([cell(row.get(key)) for key, _label in AGENT_COLUMNS])


def budget_sheet(book: Any, report: Any) -> None:
    budget = report.dashboard.budget
    sheet = book.create_sheet("Anggaran")
    sheet.append([_("Code"), _("Name"), _("PBI-APBD proposals (people)"), _("Yearly cost (Rp)")])
    if not budget:
        sheet.append([_("No PBI-APBD proposals yet (run the sweep).")])
        return
    for line in budget["lines"]:
        sheet.append([line["code"], line["name"], line["pbi_people"], line["yearly_cost"]])
    sheet.append([report.figures.code, _("Total"), budget["pbi_people"], budget["yearly_cost"]])
    sheet.append([])
    sheet.append([_("Premium per person per month (Rp)"), budget["premium_per_month"]])


def churn_sheet(book: Any, report: Any) -> None:
    churn = report.dashboard.churn
    sheet = book.create_sheet("Perubahan")
    if churn is None:
        sheet.append([_("Cause"), _("People")])
        sheet.append([_("No earlier membership snapshot to compare with.")])
    else:
        sheet.append([_("Cause"), _("People"), _("Loss of active cover")])
        for _cause, label, count, loss in churn.totals:
            sheet.append([capfirst(str(label)), count, _("yes") if loss else _("no")])
        sheet.append([])
        sheet.append(
            [
                _("Changes since %(d)s") % {"d": churn.previous.strftime("%d-%m-%Y")},
            ]
        )
        sheet.append([_("Name"), *[capfirst(str(label)) for _c, label in churn.causes]])
        for row in churn.rows:
            sheet.append([row["name"], *row["counts"]])


def path_sheet(book: Any, report: Any) -> None:
    path = report.dashboard.path
    sheet = book.create_sheet("Jalan")
    sheet.append([_("Pathway"), _("People it can bring in"), _("Needed to close the gap")])
    if path is None:
        sheet.append([_("No path for this region.")])
        return
    for line in path.lines:
        sheet.append([capfirst(line.label), line.pool, line.needed])
    sheet.append([])
    sheet.append([_("People to the activity target"), path.gap_active])
    sheet.append([_("People to the coverage target"), path.gap_coverage])
    sheet.append([_("Active people gained per month"), float(path.pace or 0)])
    sheet.append(
        [
            _("Target reached in"),
            path.reached.strftime("%m/%Y") if path.reached else _("not at this pace"),
        ]
    )
    sheet.append([_("Families to visit"), path.families])
    sheet.append([_("Village agents"), path.agents])
    sheet.append(
        [
            _("Families per agent per week (one year)"),
            float(path.families_per_agent_week) if path.families_per_agent_week else "-",
        ]
    )


SHEET_WRITERS = (
    summary_sheet,
    ranking_sheet,
    villages_sheet,
    trend_sheet,
    agents_sheet,
    budget_sheet,
    churn_sheet,
    path_sheet,
)


def finish(book: Any) -> None:
    """Bold headers, fitted widths, frozen header rows; typed text that looks like a formula
    stays text."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from pesiar.accounts.cells import is_formula_like

    bold = Font(bold=True)
    for sheet in book.worksheets:
        for header in sheet[1 if sheet.title != "Ringkasan" else 3]:
            header.font = bold
        for i, column in enumerate(sheet.columns, 1):
            width = max((len(str(c.value)) for c in column if c.value is not None), default=8)
            sheet.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 48)
        if sheet.title != "Ringkasan":
            sheet.freeze_panes = "A2"
        for row in sheet.iter_rows():
            for value in row:
                if is_formula_like(value.value):  # names typed by people stay text
                    value.data_type = "s"

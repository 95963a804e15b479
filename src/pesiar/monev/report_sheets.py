"""The report's sheets of change: the churn radar (`Perubahan`) and the path to the targets
(`Jalan`), in words for officials."""

from typing import Any

from django.utils.text import capfirst
from django.utils.translation import gettext as _


def add_change_sheets(book: Any, report: Any) -> None:
    """Append the `Perubahan` and `Jalan` sheets to the workbook (inside the report's
    language)."""
    board = report.dashboard
    churn = board.churn
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

    path = board.path
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

"""Worklists for people and programs: exports, the PBI-APBD budget, progress per region.

`run_sweep` (pipeline.py) builds the worklists; everything here reads them, always through
the user's scope (or, for the operator's CLI, explicitly unscoped).
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr
from openpyxl import Workbook

from pesiar.accounts.cells import csv_dict, xlsx_row
from pesiar.accounts.scoping import get_scope, visible_regions
from pesiar.accounts.viewer import Viewer
from pesiar.regions.models import Region, under_q, within_q
from pesiar.sweep.models import WorklistItem, WorklistMember
from pesiar.sweep.pipeline import SweepError, run_sweep
from pesiar.sweep.rules import Thresholds

__all__ = [
    "MEMBER_COLUMNS",
    "SweepError",
    "budget_by_region",
    "budget_total",
    "member_rows",
    "run_sweep",
    "worklist_progress",
    "write_csv",
    "write_xlsx",
]

# Export columns, in this order (the first eight are the contract of exports and the API).
MEMBER_COLUMNS = [
    "village_code", "kk", "nik", "name", "status", "pathway", "priority", "flags",
    "village_name", "head_name", "address", "sex", "birth_date", "relation",
    "inactive_reason", "segment", "noka", "decile", "arrears_months", "arrears_amount",
    "employer_code", "employer_name", "layoff_date", "member_priority", "family_state",
    "latest_outcome", "last_visit", "family_pbi_yearly_cost",
]  # fmt: skip


def member_rows(items: QuerySet, viewer: Viewer | None) -> Iterator[dict[str, Any]]:
    """One dict per member of each family in `items` (a scoped or unscoped queryset of
    WorklistItem), families by priority, in MEMBER_COLUMNS order. NIK, KK and birth date as
    `viewer` sees them (None: the operator's CLI, in full)."""
    names = dict(
        Region.objects.filter(
            code__in=items.order_by().values("village_id").distinct()
        ).values_list("code", "name")
    )
    members = (
        WorklistMember.objects.unscoped(reason="members of the families already in scope")
        .filter(item__in=items.order_by().values("pk"))
        .select_related("item")
        .order_by("-item__priority", "item__kk", "-priority", "birth_date")
    )
    show = viewer.identifier if viewer is not None else (lambda value: value or "")
    birth = viewer.birth if viewer is not None else (lambda value: value)
    for m in members.iterator(chunk_size=5000):
        item = m.item
        yield {
            "village_code": item.village_id,
            "kk": show(item.kk),
            "nik": show(m.nik),
            "name": m.name,
            "status": m.status,
            "pathway": m.pathway,
            "priority": item.priority,
            "flags": " ".join(m.flags),
            "village_name": names.get(item.village_id, ""),
            "head_name": item.head_name,
            "address": item.address,
            "sex": m.sex,
            "birth_date": birth(m.birth_date),
            "relation": m.relation,
            "inactive_reason": m.inactive_reason,
            "segment": m.segment,
            "noka": m.noka,
            "decile": m.decile,
            "arrears_months": m.arrears_months,
            "arrears_amount": m.arrears_amount,
            "employer_code": m.employer_code,
            "employer_name": m.employer_name,
            "layoff_date": m.layoff_date,
            "member_priority": m.priority,
            "family_state": item.state,
            "latest_outcome": item.outcome,
            "last_visit": item.last_visit_at,
            "family_pbi_yearly_cost": item.yearly_cost,
        }


def write_csv(rows: Iterable[dict[str, Any]], out) -> int:
    """Write the rows as UTF-8 CSV to a text stream (formula-like text prefixed with `'`);
    the number of rows written."""
    writer = csv.DictWriter(out, fieldnames=MEMBER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow(csv_dict({k: "" if v is None else v for k, v in row.items()}))
        n += 1
    return n


def write_xlsx(rows: Iterable[dict[str, Any]], path: Path | Any, *, title: str) -> int:
    """Write the rows to an XLSX workbook (NIK, KK and Noka as text, so Excel keeps every
    digit; formula-like text as string cells); the number of rows written."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(MEMBER_COLUMNS)
    n = 0
    for row in rows:
        sheet.append(xlsx_row(sheet, [row[c] for c in MEMBER_COLUMNS]))
        n += 1
    book.save(path)
    return n


def scoped_items(user: Any | None, *, aggregate: bool = False) -> QuerySet:
    """Worklist items in the user's scope (all for `None`: the operator's CLI). `aggregate`
    is for counts and sums only: it lets roles that see no personal rows (viewers) through."""
    manager = WorklistItem.objects
    if user is None:
        return manager.unscoped(reason="the operator's command line")
    if aggregate:
        return manager.unscoped(reason="sums within the user's scope").filter(
            get_scope(user).q("village__code")
        )
    return manager.for_user(user)


def open_items(user: Any | None, as_of: date | None = None, *, aggregate: bool = False):
    """Items open on `as_of` (default: now), in the user's scope (all for `None`, the CLI)."""
    items = scoped_items(user, aggregate=aggregate)
    if as_of is None:
        return items.filter(state=WorklistItem.State.OPEN)
    return items.filter(first_as_of__lte=as_of).filter(
        Q(closed_as_of__isnull=True) | Q(closed_as_of__gt=as_of)
    )


def budget_by_region(user: Any, parent_code: str, as_of: date | None = None) -> list[dict]:
    """PBI-APBD proposals and their yearly cost for each child region of `parent_code` the
    user may see ('' for the provinces; user `None`: every region, for the CLI): code, name,
    level, pbi_people, yearly_cost."""
    yearly = Thresholds.from_settings().pbi_yearly
    regions = visible_regions(user) if user is not None else Region.objects.all()
    children = regions.filter(
        parent_id=parent_code or None, **({} if parent_code else {"level": 1})
    )
    children = list(children.order_by("code").values_list("code", "name", "level"))
    if not children:
        return []
    width = len(children[0][0])
    items = open_items(user, as_of, aggregate=True)
    if parent_code:
        items = items.filter(under_q(parent_code, "village__code"))
    people = dict(
        items.annotate(child=Substr("village_id", 1, width))
        .values("child")
        .annotate(n=Sum("pbi_people"))
        .values_list("child", "n")
    )
    return [
        {
            "code": code,
            "name": name,
            "level": level,
            "pbi_people": people.get(code) or 0,
            "yearly_cost": (people.get(code) or 0) * yearly,
        }
        for code, name, level in children
    ]


def budget_total(user: Any, code: str, as_of: date | None = None) -> dict:
    """PBI-APBD proposals inside `code` ('' for all the user sees) and their yearly cost."""
    premium = Thresholds.from_settings().pbi_premium_monthly
    items = open_items(user, as_of, aggregate=True)
    if code:
        items = items.filter(within_q(code, "village__code"))
    people = items.aggregate(n=Sum("pbi_people"))["n"] or 0
    return {
        "pbi_people": people,
        "yearly_cost": people * premium * 12,
        "premium_per_month": premium,
    }


def worklist_progress(user: Any, code: str) -> dict:
    """Families listed inside `code`: all, open, visited (open with a visit), closed, and the
    members of open families."""
    items = scoped_items(user, aggregate=True)
    if code:
        items = items.filter(within_q(code, "village__code"))
    figures = items.aggregate(
        families=Count("pk"),
        open=Count("pk", filter=Q(state="OPEN")),
        visited=Count("pk", filter=Q(state="OPEN") & Q(last_visit_at__isnull=False)),
        closed=Count("pk", filter=Q(state="CLOSED")),
        members=Sum("members_uncovered", filter=Q(state="OPEN")),
    )
    figures["members"] = figures["members"] or 0
    return figures

"""Worklist pages: families to visit (phone-sized), one family, exports, the PBI budget."""

import csv
import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from pesiar.accounts.models import AccessKind
from pesiar.accounts.scoping import in_scope, visible_regions
from pesiar.accounts.viewer import viewer_for
from pesiar.regions.models import Region, within_q
from pesiar.sweep import services
from pesiar.sweep.models import Flag, Pathway, WorklistMember
from pesiar.sweep.rules import Thresholds

PAGE_SIZE = 25


def filtered_items(request: HttpRequest):
    """The user's open families, narrowed by the query string (village, pathway, q): a name,
    or an exact KK for roles that see identifiers in full."""
    items = services.open_items(request.user)
    village = request.GET.get("village", "")
    if village:
        items = items.filter(within_q(village, "village__code"))
    pathway = request.GET.get("pathway", "")
    if pathway in Pathway.values:
        items = items.filter(pathways__icontains=f'"{pathway}"')
    query = request.GET.get("q", "").strip()
    if query:
        match = Q(head_name__icontains=query)
        if viewer_for(request).identifier_search:
            match |= Q(kk=query)
        items = items.filter(match)
    return items, village


@login_required
def worklist(request: HttpRequest) -> HttpResponse:
    items, village = filtered_items(request)
    page = Paginator(items.order_by("-priority", "kk"), PAGE_SIZE).get_page(request.GET.get("page"))
    viewer = viewer_for(request)
    for item in page:
        item.kk_shown = viewer.identifier(item.kk)
    villages = Region.objects.filter(
        code__in=services.open_items(request.user).values("village_id").distinct()
    ).order_by("name")
    viewer.log_request(request, rows=len(page))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "sweep/worklist.html",
        {
            "page": page,
            "villages": villages,
            "village": village,
            "pathways": Pathway.choices,
            "query": query.urlencode(),
            "progress": services.worklist_progress(request.user, village),
            "budget": services.budget_total(request.user, village),
        },
    )


@login_required
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(services.scoped_items(request.user).select_related("village"), pk=pk)
    members = list(
        WorklistMember.objects.for_user(request.user)
        .filter(item=item)
        .order_by("-priority", "birth_date")
    )
    viewer = viewer_for(request)
    item.kk_shown = viewer.identifier(item.kk)
    flag_names = dict(Flag.choices)
    labels = {**flag_names, **dict(Pathway.choices)}
    for member in members:
        member.nik_shown = viewer.identifier(member.nik)
        member.birth_shown = viewer.birth_text(member.birth_date)
        member.flag_names = [flag_names.get(f, f) for f in member.flags]
    for line in item.explanation:
        line["label"] = labels.get(line["key"], line["key"])
    viewer.log_request(request, rows=len(members), region=item.village_id)
    return render(request, "sweep/item.html", {"item": item, "members": members})


@login_required
def export(request: HttpRequest) -> HttpResponse:
    """The listed families' members as CSV or XLSX, masked as the user sees them."""
    items, village = filtered_items(request)
    viewer = viewer_for(request)
    rows = list(services.member_rows(items, viewer))
    name = f"worklist-{village or 'all'}"
    if request.GET.get("format") == "xlsx":
        buffer = io.BytesIO()
        services.write_xlsx(rows, buffer, title=name)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        filename = f"{name}.xlsx"
    else:
        text = io.StringIO()
        services.write_csv(rows, text)
        response = HttpResponse(text.getvalue(), content_type="text/csv; charset=utf-8")
        filename = f"{name}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    viewer.log_request(request, rows=len(rows), kind=AccessKind.EXPORT, region=village)
    return response


@login_required
def budget(request: HttpRequest) -> HttpResponse:
    """PBI-APBD proposals and their yearly cost, per child region, with drill-down."""
    code = request.GET.get("region", "")
    scope = viewer_for(request).scope
    if not code and not scope.national and len(scope.codes) == 1:
        code = scope.codes[0]
    if code and not in_scope(request.user, code):
        raise PermissionDenied(_("This region is outside your scope."))
    region = get_object_or_404(visible_regions(request.user), code=code) if code else None
    if not code and not scope.national and len(scope.codes) > 1:
        # several regions (a BPJS branch): one line per own region, each opens its drill-down
        rows = [
            {"code": c, "name": name, "level": level, **services.budget_total(request.user, c)}
            for c, name, level in Region.objects.filter(code__in=scope.codes)
            .order_by("code")
            .values_list("code", "name", "level")
        ]
    else:
        rows = services.budget_by_region(request.user, code)
    total = services.budget_total(request.user, code)
    if request.GET.get("format") == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["code", "name", "pbi_people", "yearly_cost"])
        writer.writerows([r["code"], r["name"], r["pbi_people"], r["yearly_cost"]] for r in rows)
        response = HttpResponse(text.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="pbi-budget-{code or "all"}.csv"'
        return response
    return render(
        request,
        "sweep/budget.html",
        {
            "region": region,
            "rows": rows,
            "total": total,
            "premium": Thresholds.from_settings().pbi_premium_monthly,
            "drill": bool(rows) and rows[0]["level"] < 4,
        },
    )

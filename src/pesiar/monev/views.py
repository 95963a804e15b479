"""Monev pages: thin views over pesiar.monev.services (figures are aggregates, scoped by user)."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from pesiar.monev import report as reports
from pesiar.monev import services
from pesiar.regions.models import Level


def _as_of(request: HttpRequest):
    return services.parse_date(request.GET.get("as_of"))


def _single_scope(user: Any) -> str | None:
    codes = services.scope_codes(user)
    return codes[0] if codes is not None and len(codes) == 1 else None


def _map(user: Any, code: str, as_of, metric: str, children=None):
    """The choropleth; without outlines for the children, the shipped ones are loaded once."""
    the_map = services.choropleth(user, code, as_of, metric, children)
    missing = not the_map.has_boundaries and the_map.children
    if missing and services.shipped_for(code, the_map.children[0].level):
        the_map = services.choropleth(user, code, as_of, metric, children)
    return the_map


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The top view: Indonesia for national users, the user's own regions for the others
    (straight to the region's dashboard when there is only one)."""
    only = _single_scope(request.user)
    if only:
        url = reverse("monev:region", args=[only])
        query = request.GET.urlencode()
        return redirect(f"{url}?{query}" if query else url)
    return _dashboard(request, services.NATION)


@login_required
def region(request: HttpRequest, code: str) -> HttpResponse:
    return _dashboard(request, code)


def _dashboard(request: HttpRequest, code: str) -> HttpResponse:
    board = services.dashboard(request.user, code, _as_of(request), extras=False)
    region_obj = services.get_region(request.user, code) if board is None else board.region
    metric = request.GET.get("metric", "active")
    context: dict[str, Any] = {
        "board": board,
        "code": code,
        "region": region_obj,
        "region_url": reverse("monev:home") + "r/",
    }
    if board is not None:
        context["map"] = _map(request.user, code, board.as_of, metric, board.children)
        context["trend_chart"] = services.trend_chart(board.trend, board.targets)
        context["single_scope"] = _single_scope(request.user)
    return render(request, "monev/dashboard.html", context)


@login_required
def sections(request: HttpRequest, code: str = services.NATION) -> HttpResponse:
    """The dashboard's worklist, budget and agent sections (from the sweep and field apps),
    loaded after the figures; `?partial=1` for the fragment alone."""
    board = services.dashboard(request.user, code, _as_of(request))
    template = "monev/_sections.html" if request.GET.get("partial") else "monev/sections.html"
    return render(
        request,
        template,
        {"board": board, "code": code, "region": services.get_region(request.user, code)},
    )


@login_required
def region_map(request: HttpRequest, code: str = services.NATION) -> HttpResponse:
    region_obj = services.get_region(request.user, code)
    as_of = services.resolve_as_of(request.user, _as_of(request))
    metric = request.GET.get("metric", "active")
    figures = services.region_figures(request.user, code, as_of) if as_of else None
    the_map = _map(request.user, code, as_of, metric) if figures else None
    return render(
        request,
        "monev/map.html",
        {
            "code": code,
            "region": region_obj,
            "figures": figures,
            "map": the_map,
            "as_of": as_of,
            "metric": metric,
            "metrics": services.METRICS,
            "ancestors": services.ancestors(request.user, code),
            "region_url": reverse("monev:home") + "r/",
        },
    )


@login_required
def ranking(request: HttpRequest) -> HttpResponse:
    user = request.user
    as_of = services.resolve_as_of(user, _as_of(request))
    within = request.GET.get("within", "").strip()
    if within and not services.can_view(user, within):
        raise Http404("no such region in your scope")
    level = services.LEVEL_KEYS.get(request.GET.get("level", ""), Level.VILLAGE)
    sort = request.GET.get("sort", "rank")
    descending = request.GET.get("dir", "asc") == "desc"
    table = None
    if as_of is not None:
        table = services.ranking(
            user,
            level=level,
            as_of=as_of,
            within=within,
            sort=sort,
            descending=descending,
            query=request.GET.get("q", "").strip(),
            uhc_class=request.GET.get("uhc", "").strip(),
            page=request.GET.get("page", 1),
        )
    choices = services.region_choices(user)
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = params.copy()
    sort_params.pop("sort", None)
    sort_params.pop("dir", None)
    return render(
        request,
        "monev/ranking.html",
        {
            "table": table,
            "as_of": as_of,
            "dates": services.dates(user) if as_of else [],
            "level": level,
            "level_key": {v: k for k, v in services.LEVEL_KEYS.items()}[level],
            "levels": [(k, services.LEVEL_PLURALS[v]) for k, v in services.LEVEL_KEYS.items()],
            "within": within,
            "within_region": services.get_region(user, within) if within else None,
            "sort": sort,
            "descending": descending,
            "query_string": params.urlencode(),
            "sort_query": sort_params.urlencode(),
            "uhc_classes": [name for _t, name in services.Targets.from_settings().uhc_classes],
            "region_choices": choices,
            "within_listed": any(c == within for c, _label in choices),
            "region_url": reverse("monev:home") + "r/",
        },
    )


@login_required
def report_download(request: HttpRequest, fmt: str, code: str = services.NATION) -> HttpResponse:
    services.get_region(request.user, code)
    try:
        content, content_type, filename = reports.export(request.user, code, _as_of(request), fmt)
    except reports.ReportError as exc:
        raise Http404(str(exc)) from exc
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

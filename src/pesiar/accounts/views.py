"""The region tree as one user may browse it: their scopes, what lies under them, and the
ancestors that lead there (the tree is the regions app's; who sees which part is ours)."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from pesiar.accounts.scoping import visible_regions
from pesiar.regions import codes
from pesiar.regions.models import Region


def ancestors(region: Region) -> list[Region]:
    return list(Region.objects.filter(code__in=codes.ancestors(region.code)).order_by("level"))


@login_required
def region_list(request: HttpRequest) -> HttpResponse:
    children = visible_regions(request.user).filter(level=1).annotate(n_children=Count("children"))
    return render(request, "regions/region_list.html", {"region": None, "children": children})


@login_required
def region_detail(request: HttpRequest, code: str) -> HttpResponse:
    # Only the user's part of the tree: their scopes, what lies under them, their ancestors.
    visible = visible_regions(request.user)
    region = get_object_or_404(visible, code=code)
    children = visible.filter(parent=region).annotate(n_children=Count("children"))
    return render(
        request,
        "regions/region_list.html",
        {"region": region, "ancestors": ancestors(region), "children": children},
    )

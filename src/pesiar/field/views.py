"""Field pages: visits, events, registrations, batch export, API tokens (thin: the work is in
services.py)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse


@login_required
def visit_add(request: HttpRequest, item_id: int) -> HttpResponse:
    raise Http404


@login_required
def register_family(request: HttpRequest, item_id: int) -> HttpResponse:
    raise Http404


@login_required
def registration(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404

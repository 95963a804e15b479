"""The start page: each role lands where its work is."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from pesiar.accounts.models import Role


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Agents start at their villages' worklists; everyone else at the Monev dashboard."""
    if request.user.role == Role.AGENT:
        return redirect("field:home")
    return redirect("monev:home")

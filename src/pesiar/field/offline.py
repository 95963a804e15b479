"""The agent's offline app (a PWA): the app page, its manifest and its service worker, all
served by Django (no CDN), and a logout that clears what the app kept on the phone.

The app (static/field/app.js) keeps the agent's worklist in IndexedDB, records visits, events
and registrations into a local queue, and sends them through the REST API with their
`client_id` when the connection returns (a retry never makes a second row). Each family
carries a `version`; a change recorded against an older one comes back flagged as a conflict.
"""

import json
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from pesiar.accounts.scoping import require_personal_access
from pesiar.field import services
from pesiar.field.models import EventKind, Outcome, Segment
from pesiar.regions.models import Region
from pesiar.sweep.models import SweepRun

SHELL_STATIC = (
    "pesiar/pesiar.css",
    "field/field.css",
    "field/app.js",
    "field/icon.svg",
)


def offline_days() -> int:
    """Days after which the worklist kept on the phone is cleared (PESIAR_OFFLINE_DAYS)."""
    return int(services.field_settings().get("OFFLINE_DAYS", 7))


def _words() -> dict[str, Any]:
    return {
        "outcomes": [["", _("— choose what the visit found —")], *Outcome.choices],
        "kinds": [list(c) for c in EventKind.choices],
        "segments": [list(c) for c in Segment.choices],
        "pending": _("waiting to be sent"),
        "sent": _("sent"),
        "refused": _("refused by Pesiar"),
        "conflict": _("sent, but flagged: the family was changed on another device first"),
        "online": _("Online"),
        "offline": _("Offline: what you record is kept on this phone and sent later."),
        "saved": _("Saved on this phone."),
        "synced": _("Sent to Pesiar."),
        "expired": _("The families kept on this phone were cleared (older than %(days)s days).")
        % {"days": offline_days()},
        "login": _("Log in again to send what is waiting."),
        "logout_pending": _("%(n)s records are not sent yet. Log out and delete them?"),
        "visit": _("Visit"),
        "event": _("Event"),
        "registration": _("Registration"),
        "record_visit": _("Record visit"),
        "register": _("Register this family"),
        "no_items": _("No families kept on this phone yet: connect once to load them."),
        "updated": _("Families updated"),
        "choose_members": _("choose at least one family member to register"),
        "required": _("This field is required."),
        "reason_needed": _("a refusal needs the reason the family gave"),
        "save": _("Save on this phone"),
        "f_date": _("Date"),
        "f_outcome": _("Outcome"),
        "f_reason": _("Reason for refusal"),
        "f_note": _("Note"),
        "f_members": _("Family members (population register)"),
        "f_segment": _("Segment"),
        "f_faskes": _("Faskes (FKTP) code"),
        "f_village": _("Village"),
        "f_kind": _("Kind"),
        "f_attendees": _("Attendees"),
    }


@login_required
@never_cache
def app(request: HttpRequest) -> HttpResponse:
    """The app's one page; everything else it does happens in the browser."""
    require_personal_access(request.user)
    villages = list(
        Region.objects.filter(code__in=services.agent_villages(request.user)).values_list(
            "code", "name"
        )
    )
    latest = SweepRun.objects.order_by("-id").values_list("id", flat=True).first()
    config = {
        "user": request.user.get_username(),
        "csrf": get_token(request),
        "api": "/api",
        "sweep": latest or 0,
        "offlineDays": offline_days(),
        "today": timezone.localdate().isoformat(),
        "villages": villages,
        "sw": reverse("field:service_worker"),
        "words": _words(),
    }
    return render(request, "field/app.html", {"config": config})


def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": "Pesiar — " + _("Agent app"),
        "short_name": "Pesiar",
        "lang": request.LANGUAGE_CODE,
        "start_url": reverse("field:app"),
        "scope": reverse("field:home"),
        "display": "standalone",
        "background_color": "#f6f8f9",
        "theme_color": "#0a7d55",
        "icons": [{"src": static("field/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    response = JsonResponse(data)
    response["Content-Type"] = "application/manifest+json"
    return response


def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, at /field/sw.js so that it controls the field pages."""
    shell = [reverse("field:app"), reverse("field:manifest")] + [static(p) for p in SHELL_STATIC]
    body = render(request, "field/sw.js", {"shell": json.dumps(shell)}).content
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


class LogoutView(auth_views.LogoutView):
    """Logging out also clears what the app kept on the phone (worklist, queue, caches)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response

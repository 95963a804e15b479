"""The REST API for mobile clients: worklists, visits, events and registration requests.

Token auth (`Authorization: Bearer psr_...`, tokens from `pesiar api-token USERNAME` or the
web page /field/tokens/) or the browser session. Every answer is narrowed to the user's region
scope, NIK/KK masked for roles that do not see them in full, and every answer with personal rows
is written to the access log. Submissions carry a client-generated `client_id`: sending the same
one again returns the first result (200 instead of 201) and never makes a second row.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Status
from ninja.errors import AuthenticationError
from ninja.security import django_auth

from pesiar.accounts.viewer import viewer_for
from pesiar.field import services
from pesiar.field.api_answers import (
    AUDIT,
    event_out,
    items_out,
    log_rows,
    registrations_out,
    visit_out,
)
from pesiar.field.api_auth import TokenAuth, signed_in
from pesiar.field.api_schemas import (
    EventIn,
    EventOut,
    EventQuery,
    Id,
    ItemOut,
    MeOut,
    RegistrationIn,
    RegistrationOut,
    RegistrationQuery,
    VisitIn,
    VisitOut,
    VisitQuery,
    WorklistQuery,
    answers,
)
from pesiar.field.models import (
    Event,
    RegistrationRequest,
    Source,
    Visit,
)
from pesiar.regions.codes import within_q


class PesiarAPI(NinjaAPI):
    """One URL pattern per path (django-ninja adds one per operation, so GET and POST on the
    same path would be two patterns of which only the first is ever reached)."""

    def _get_urls(self) -> list:
        seen, out = set(), []
        for pattern in super()._get_urls():
            key = str(pattern.pattern)
            if key in seen:
                continue
            seen.add(key)
            if pattern.name == "api-root":  # ninja's 404 page: for signed-in users only
                pattern = path("", signed_in(pattern.callback), name="api-root")
            out.append(pattern)
        return out


api = PesiarAPI(
    title="Pesiar field API",
    version="1",
    description=(
        "Worklists, visits, socialisation events and registration requests for Agen Pesiar "
        "mobile clients. Send `Authorization: Bearer <token>`. Submissions are idempotent on "
        "`client_id`: 201 when created, 200 when the same client_id was already received."
    ),
    auth=[TokenAuth(), django_auth],
    urls_namespace="api",
    docs_decorator=signed_in,
)


@api.exception_handler(services.FieldError)
def _field_error(request: HttpRequest, exc: services.FieldError) -> HttpResponse:
    """The problems as the viewer may read them (NIK/KK masked for masked roles); logged, since
    a problem can name people of the family."""
    viewer = viewer_for(request)
    problems = viewer.texts(exc.problems)
    if viewer.personal:
        viewer.log(AUDIT, request.path, rows=len(problems))
    return api.create_response(
        request, {"detail": "; ".join(problems), "problems": problems}, status=exc.status
    )


@api.exception_handler(PermissionDenied)
def _denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Forbidden"}, status=403)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "Unauthorized"}, status=401)


# --- me ---------------------------------------------------------------------------------------


@api.get("/me", response=answers(MeOut), summary="The signed-in user, role and villages")
def me(request: HttpRequest) -> dict[str, Any]:
    viewer = viewer_for(request)
    return {
        "username": viewer.user.get_username(),
        "role": viewer.user.role,
        "scopes": list(viewer.scope.codes) if not viewer.scope.national else ["*"],
        "villages": services.agent_villages(viewer.user),
        "full_identifiers": viewer.full_identifiers,
    }


# --- worklists --------------------------------------------------------------------------------


@api.get(
    "/worklist",
    response=answers(list[ItemOut]),
    summary="Families to visit, highest priority first",
)
def worklist(request: HttpRequest, q: Query[WorklistQuery]) -> list[dict[str, Any]]:
    items = services.worklist_families(request.user, village=q.village or "", state=q.state or "")
    return items_out(request, list(items[q.offset : q.offset + q.limit]))


@api.get("/worklist/{item_id}", response=answers(ItemOut, 404), summary="One family with members")
def worklist_item(request: HttpRequest, item_id: Id) -> dict[str, Any]:
    item = services.get_item(request.user, item_id)
    return items_out(request, [item])[0]


# --- visits -----------------------------------------------------------------------------------


@api.get(
    "/visits", response=answers(list[VisitOut]), summary="Visits in your villages, latest first"
)
def visits(request: HttpRequest, q: Query[VisitQuery]) -> list[dict[str, Any]]:
    rows = Visit.objects.for_user(request.user).select_related("agent")
    if q.item_id:
        rows = rows.filter(item_id=q.item_id)
    if q.since:
        rows = rows.filter(created_at__gt=q.since)
    out = [visit_out(v) for v in rows[q.offset : q.offset + q.limit]]
    log_rows(request, len(out), identifiers=False)
    return out


@api.post(
    "/visits",
    response=answers(VisitOut, 400, 404, 409, created=True),
    summary="Record a visit (idempotent on client_id)",
)
def visit_create(request: HttpRequest, payload: VisitIn) -> Status:
    visit, created = services.record_visit(
        request.user,
        services.VisitInput(
            item_id=payload.item_id,
            date=payload.date,
            outcome=payload.outcome.value,
            reason=payload.reason,
            note=payload.note,
            latitude=payload.latitude,
            longitude=payload.longitude,
            client_id=payload.client_id,
            source=Source.API,
            base_version=payload.base_version,
        ),
    )
    log_rows(request, 1, identifiers=False)
    return Status(201 if created else 200, visit_out(visit))


# --- events -----------------------------------------------------------------------------------


@api.get(
    "/events", response=answers(list[EventOut]), summary="Socialisation events in your villages"
)
def events(request: HttpRequest, q: Query[EventQuery]) -> list[dict[str, Any]]:
    rows = Event.objects.for_user(request.user).select_related("agent")
    if q.village:
        rows = rows.filter(within_q(q.village, "village__pk"))
    if q.since:
        rows = rows.filter(created_at__gt=q.since)
    out = [event_out(e) for e in rows[q.offset : q.offset + q.limit]]
    log_rows(request, len(out), identifiers=False)
    return out


@api.post(
    "/events",
    response=answers(EventOut, 400, 404, 409, created=True),
    summary="Record a socialisation event (idempotent on client_id)",
)
def event_create(request: HttpRequest, payload: EventIn) -> Status:
    event, created = services.record_event(
        request.user,
        services.EventInput(
            village=payload.village,
            date=payload.date,
            kind=payload.kind.value,
            attendees=payload.attendees,
            notes=payload.notes,
            client_id=payload.client_id,
            source=Source.API,
        ),
    )
    log_rows(request, 1, identifiers=False)
    return Status(201 if created else 200, event_out(event))


# --- registrations ----------------------------------------------------------------------------


@api.get(
    "/registrations",
    response=answers(list[RegistrationOut]),
    summary="Registration requests in your scope",
)
def registrations(request: HttpRequest, q: Query[RegistrationQuery]) -> list[dict[str, Any]]:
    rows = RegistrationRequest.objects.for_user(request.user).select_related("agent")
    if q.status:
        rows = rows.filter(status=q.status.value)
    if q.village:
        rows = rows.filter(within_q(q.village, "village__pk"))
    return registrations_out(request, list(rows[q.offset : q.offset + q.limit]))


@api.get(
    "/registrations/{request_id}",
    response=answers(RegistrationOut, 404),
    summary="One registration request",
)
def registration(request: HttpRequest, request_id: Id) -> dict[str, Any]:
    return registrations_out(request, [services.get_registration(request.user, request_id)])[0]


@api.post(
    "/registrations",
    response=answers(RegistrationOut, 400, 404, 409, created=True),
    summary="Register family members (validated against the population register; idempotent)",
)
def registration_create(request: HttpRequest, payload: RegistrationIn) -> Status:
    if not viewer_for(request).full_identifiers:
        # the NIKs are typed in: for a role that sees them masked, the answer would confirm
        # or deny guessed numbers
        raise services.FieldError(
            _("registrations name people by their full NIK: agents and BPJS officers send them"),
            status=403,
        )
    created_request, created = services.register_family(
        request.user,
        services.RegistrationInput(
            kk=payload.kk,
            niks=list(payload.niks),
            segment=payload.segment.value,
            jkn_class=payload.jkn_class,
            faskes_code=payload.faskes_code,
            item_id=payload.item_id,
            submit=payload.submit,
            note=payload.note,
            client_id=payload.client_id,
            source=Source.API,
            base_version=payload.base_version,
        ),
    )
    return Status(201 if created else 200, registrations_out(request, [created_request])[0])


@api.post(
    "/registrations/{request_id}/submit",
    response=answers(RegistrationOut, 400, 404),
    summary="Submit a draft (a request already submitted is returned unchanged)",
)
def registration_submit(request: HttpRequest, request_id: Id) -> dict[str, Any]:
    done = services.submit_registration(request.user, request_id)
    return registrations_out(request, [done])[0]

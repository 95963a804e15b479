"""The REST API for mobile clients: worklists, visits, events and registration requests.

Token auth (`Authorization: Bearer psr_...`, tokens from `pesiar api-token USERNAME` or the
web page /field/tokens/) or the browser session. Every answer is narrowed to the user's region
scope, NIK/KK masked for roles that do not see them in full, and every answer with personal rows
is written to the access log. Submissions carry a client-generated `client_id`: sending the same
one again returns the first result (200 instead of 201) and never makes a second row.
"""

import functools
import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, django_auth
from pydantic import AfterValidator, BeforeValidator

from pesiar.accounts.models import AccessKind
from pesiar.accounts.viewer import viewer_for
from pesiar.field import services
from pesiar.field.models import (
    ApiToken,
    Event,
    EventKind,
    Outcome,
    RegistrationPerson,
    RegistrationRequest,
    RequestStatus,
    Segment,
    Source,
    Visit,
    hash_token,
)
from pesiar.regions.codes import within_q
from pesiar.sweep.models import WorklistMember

# --- auth -------------------------------------------------------------------------------------


def user_for_token(key: str) -> Any:
    """The active user owning unrevoked token `key`, or None."""
    if not key or len(key) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def signed_in(view):
    """The schema and docs are for signed-in users and token holders only (401 otherwise)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            user = user_for_token(_bearer(request))
            if user is None:
                return JsonResponse({"detail": "Unauthorized"}, status=401)
            request.user = user
        return view(request, *args, **kwargs)

    return wrapped


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


class ErrorOut(Schema):
    detail: str
    problems: list[str] = []


class InvalidOut(Schema):
    detail: list[dict[str, Any]]


def answers(ok: Any, *codes: int, created: bool = False) -> dict[int, Any]:
    """The documented answers of an operation: `ok` (200, and 201 when `created`), 401 without
    a valid token, 403 for a role that may not see personal rows, 422 for a malformed request,
    and the given problem `codes` (400 invalid, 404 not in your scope, 409 client id taken)."""
    out: dict[int, Any] = {200: ok, 401: ErrorOut, 403: ErrorOut, 422: InvalidOut}
    if created:
        out[201] = ok
    for code in codes:
        out[code] = ErrorOut
    return out


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


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a number is required")
    return value


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("an ISO 8601 date-time is required, e.g. 2024-07-01T08:00:00+07:00")
    return value


def _sane_datetime(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is not None and abs(offset) > timedelta(hours=14):
        raise ValueError("the time zone offset must lie within ±14:00")
    if not 2000 <= value.year <= 2100:
        raise ValueError("the date must lie between 2000 and 2100")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Since = Annotated[datetime, BeforeValidator(_iso_datetime), AfterValidator(_sane_datetime)]
ClientId = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
Id = Annotated[int, Field(ge=1, le=2_147_483_647)]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
Digits16 = Annotated[str, Field(pattern=r"^[0-9]{16}$")]
Code = Annotated[
    str, Field(max_length=13, pattern=r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$")
]

AUDIT = AccessKind.API


def _log(request: HttpRequest, rows: int, *, identifiers: bool = True) -> None:
    if rows:
        viewer_for(request).log(AUDIT, request.path, rows=rows, identifiers=identifiers)


# --- me ---------------------------------------------------------------------------------------


class MeOut(Schema):
    username: str
    role: str
    scopes: list[str]
    villages: list[str]
    full_identifiers: bool


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


class MemberOut(Schema):
    nik: str
    name: str
    sex: str
    birth_date: date | None = Field(None, description="null for roles that see NIK masked")
    birth_year: int | None
    relation: str
    status: str
    pathway: str
    flags: list[str]
    priority: int


class ItemOut(Schema):
    id: int
    kk: str
    village_code: str
    village_name: str
    state: str
    outcome: str
    last_visit_at: date | None
    priority: int
    head_name: str
    address: str
    pathways: list[str]
    members_total: int
    members_uncovered: int
    version: int
    members: list[MemberOut]


def _items_out(request: HttpRequest, items: list) -> list[dict[str, Any]]:
    viewer = viewer_for(request)
    show = viewer.identifier
    members: dict[int, list[dict[str, Any]]] = {i.pk: [] for i in items}
    rows = WorklistMember.objects.for_user(request.user).filter(item_id__in=list(members))
    for m in rows.order_by("item_id", "-priority", "birth_date"):
        members[m.item_id].append(
            {
                "nik": show(m.nik),
                "name": m.name,
                "sex": m.sex,
                **_birth(viewer, m.birth_date),
                "relation": m.relation,
                "status": m.status,
                "pathway": m.pathway,
                "flags": list(m.flags),
                "priority": m.priority,
            }
        )
    out = [
        {
            "id": i.pk,
            "kk": show(i.kk),
            "village_code": i.village_id,
            "village_name": i.village.name,
            "state": i.state,
            "outcome": i.outcome,
            "last_visit_at": i.last_visit_at,
            "priority": i.priority,
            "head_name": i.head_name,
            "address": i.address,
            "pathways": list(i.pathways),
            "members_total": i.members_total,
            "members_uncovered": i.members_uncovered,
            "version": i.version,
            "members": members[i.pk],
        }
        for i in items
    ]
    _log(request, len(out) + sum(len(v) for v in members.values()))
    return out


def _birth(viewer: Any, value: date | None) -> dict[str, Any]:
    """birth_date for roles that see identifiers in full, birth_year for everyone."""
    return {
        "birth_date": value if viewer.full_identifiers else None,
        "birth_year": value.year if value else None,
    }


class Page(Schema):
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0


class WorklistQuery(Page):
    village: Code | None = None
    state: Literal["OPEN", "CLOSED"] | None = None


@api.get(
    "/worklist",
    response=answers(list[ItemOut]),
    summary="Families to visit, highest priority first",
)
def worklist(request: HttpRequest, q: Query[WorklistQuery]) -> list[dict[str, Any]]:
    items = services.worklist(request.user, village=q.village or "", state=q.state or "")
    return _items_out(request, list(items[q.offset : q.offset + q.limit]))


@api.get("/worklist/{item_id}", response=answers(ItemOut, 404), summary="One family with members")
def worklist_item(request: HttpRequest, item_id: Id) -> dict[str, Any]:
    item = services.get_item(request.user, item_id)
    return _items_out(request, [item])[0]


# --- visits -----------------------------------------------------------------------------------


class VisitIn(Schema):
    client_id: ClientId
    item_id: Id
    date: Day
    outcome: Outcome
    reason: Annotated[Text, Field(max_length=300)] = ""
    note: Annotated[Text, Field(max_length=5000)] = ""
    latitude: Annotated[float, Field(ge=-90, le=90), BeforeValidator(_number)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180), BeforeValidator(_number)] | None = None
    base_version: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None


class VisitOut(Schema):
    id: int
    client_id: str
    item_id: int
    agent: str
    date: date
    outcome: str
    reason: str
    note: str
    latitude: float | None
    longitude: float | None
    source: str
    conflict: bool
    created_at: datetime


def _visit_out(v: Visit) -> dict[str, Any]:
    return {
        "id": v.pk,
        "client_id": v.client_id,
        "item_id": v.item_id,
        "agent": v.agent.get_username(),
        "date": v.date,
        "outcome": v.outcome,
        "reason": v.reason,
        "note": v.note,
        "latitude": None if v.latitude is None else float(v.latitude),
        "longitude": None if v.longitude is None else float(v.longitude),
        "source": v.source,
        "conflict": v.conflict,
        "created_at": v.created_at,
    }


class VisitQuery(Page):
    item_id: Id | None = None
    since: Since | None = None


@api.get(
    "/visits", response=answers(list[VisitOut]), summary="Visits in your villages, latest first"
)
def visits(request: HttpRequest, q: Query[VisitQuery]) -> list[dict[str, Any]]:
    rows = Visit.objects.for_user(request.user).select_related("agent")
    if q.item_id:
        rows = rows.filter(item_id=q.item_id)
    if q.since:
        rows = rows.filter(created_at__gt=q.since)
    out = [_visit_out(v) for v in rows[q.offset : q.offset + q.limit]]
    _log(request, len(out), identifiers=False)
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
    _log(request, 1, identifiers=False)
    return Status(201 if created else 200, _visit_out(visit))


# --- events -----------------------------------------------------------------------------------


class EventIn(Schema):
    client_id: ClientId
    village: Code
    date: Day
    kind: EventKind
    attendees: Annotated[int, Field(ge=0, le=100_000)]
    notes: Annotated[Text, Field(max_length=5000)] = ""


class EventOut(Schema):
    id: int
    client_id: str
    village: str
    agent: str
    date: date
    kind: str
    attendees: int
    notes: str
    created_at: datetime


def _event_out(e: Event) -> dict[str, Any]:
    return {
        "id": e.pk,
        "client_id": e.client_id,
        "village": e.village_id,
        "agent": e.agent.get_username(),
        "date": e.date,
        "kind": e.kind,
        "attendees": e.attendees,
        "notes": e.notes,
        "created_at": e.created_at,
    }


class EventQuery(Page):
    village: Code | None = None
    since: Since | None = None


@api.get(
    "/events", response=answers(list[EventOut]), summary="Socialisation events in your villages"
)
def events(request: HttpRequest, q: Query[EventQuery]) -> list[dict[str, Any]]:
    rows = Event.objects.for_user(request.user).select_related("agent")
    if q.village:
        rows = rows.filter(within_q(q.village, "village__pk"))
    if q.since:
        rows = rows.filter(created_at__gt=q.since)
    out = [_event_out(e) for e in rows[q.offset : q.offset + q.limit]]
    _log(request, len(out), identifiers=False)
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
    _log(request, 1, identifiers=False)
    return Status(201 if created else 200, _event_out(event))


# --- registrations ----------------------------------------------------------------------------


class PersonOut(Schema):
    nik: str
    name: str
    sex: str
    birth_date: date | None = Field(None, description="null for roles that see NIK masked")
    birth_year: int | None
    relation: str
    status: str
    noka: str


class RegistrationIn(Schema):
    client_id: ClientId
    kk: Digits16
    niks: Annotated[list[Digits16], Field(min_length=1, max_length=30)]
    segment: Segment
    jkn_class: Literal[1, 2, 3] = 3
    faskes_code: Annotated[Text, Field(max_length=20)] = ""
    item_id: Id | None = None
    submit: bool = True
    note: Annotated[Text, Field(max_length=5000)] = ""
    base_version: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None


class RegistrationOut(Schema):
    id: int
    client_id: str
    kk: str
    village_code: str
    item_id: int | None
    segment: str
    jkn_class: int
    faskes_code: str
    status: str
    agent: str
    people: list[PersonOut]
    created_at: datetime
    submitted_at: datetime | None
    exported_at: datetime | None
    confirmed_at: datetime | None
    conflict: bool


def _registrations_out(request: HttpRequest, requests: list) -> list[dict[str, Any]]:
    viewer = viewer_for(request)
    show = viewer.identifier
    people: dict[int, list[dict[str, Any]]] = {r.pk: [] for r in requests}
    for p in RegistrationPerson.objects.for_user(request.user).filter(request_id__in=list(people)):
        people[p.request_id].append(
            {
                "nik": show(p.nik),
                "name": p.name,
                "sex": p.sex,
                **_birth(viewer, p.birth_date),
                "relation": p.relation,
                "status": p.status,
                "noka": p.noka,
            }
        )
    _log(request, sum(len(v) for v in people.values()))
    return [
        {
            "id": r.pk,
            "client_id": r.client_id,
            "kk": show(r.kk),
            "village_code": r.village_id,
            "item_id": r.item_id,
            "segment": r.segment,
            "jkn_class": r.jkn_class,
            "faskes_code": r.faskes_code,
            "status": r.status,
            "agent": r.agent.get_username(),
            "people": people[r.pk],
            "created_at": r.created_at,
            "submitted_at": r.submitted_at,
            "exported_at": r.exported_at,
            "confirmed_at": r.confirmed_at,
            "conflict": r.conflict,
        }
        for r in requests
    ]


class RegistrationQuery(Page):
    status: RequestStatus | None = None
    village: Code | None = None


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
    return _registrations_out(request, list(rows[q.offset : q.offset + q.limit]))


@api.get(
    "/registrations/{request_id}",
    response=answers(RegistrationOut, 404),
    summary="One registration request",
)
def registration(request: HttpRequest, request_id: Id) -> dict[str, Any]:
    return _registrations_out(request, [services.get_registration(request.user, request_id)])[0]


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
    return Status(201 if created else 200, _registrations_out(request, [created_request])[0])


@api.post(
    "/registrations/{request_id}/submit",
    response=answers(RegistrationOut, 400, 404),
    summary="Submit a draft (a request already submitted is returned unchanged)",
)
def registration_submit(request: HttpRequest, request_id: Id) -> dict[str, Any]:
    done = services.submit_registration(request.user, request_id)
    return _registrations_out(request, [done])[0]

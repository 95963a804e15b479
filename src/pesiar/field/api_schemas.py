"""The field API's schemas: what a client may send (validated before any rule runs) and what
it is answered, with the error answers every operation documents."""

import re
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator

from pesiar.field.models import EventKind, Outcome, RequestStatus
from pesiar.registers.vocabulary import RegistrationSegment


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


# The registration segments under the name and words the API has always published (clients
# generate their types from the schema).
Segment = Enum("Segment", [(s.name, s.value) for s in RegistrationSegment], type=str)
Segment.__doc__ = "Segments an agent can register a family in."


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


class MeOut(Schema):
    username: str
    role: str
    scopes: list[str]
    villages: list[str]
    full_identifiers: bool


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


class Page(Schema):
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0


class WorklistQuery(Page):
    village: Code | None = None
    state: Literal["OPEN", "CLOSED"] | None = None


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


class VisitQuery(Page):
    item_id: Id | None = None
    since: Since | None = None


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


class EventQuery(Page):
    village: Code | None = None
    since: Since | None = None


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


class RegistrationQuery(Page):
    status: RequestStatus | None = None
    village: Code | None = None

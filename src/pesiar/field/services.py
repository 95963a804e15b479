"""Advokasi and Registrasi: the business rules behind the field pages, the API, ODK and the CLI.

Every function takes the acting user and works inside that user's region scope; submissions
carry a client-generated id, so a retry returns what the first attempt made (`created` False)
instead of making it again.
"""

import csv
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from pesiar.accounts.cells import csv_row, xlsx_row
from pesiar.accounts.models import AccessKind, Role, User
from pesiar.accounts.scoping import get_scope, in_scope, require_personal_access
from pesiar.accounts.viewer import Viewer
from pesiar.field.models import (
    CLOSING_OUTCOMES,
    Event,
    EventKind,
    ExportBatch,
    Outcome,
    PersonStatus,
    RegistrationPerson,
    RegistrationRequest,
    RequestStatus,
    Segment,
    Source,
    Visit,
)
from pesiar.ops.duck import connect, sql_path
from pesiar.regions.codes import is_within, within_q
from pesiar.regions.models import Region
from pesiar.registers.models import Snapshot
from pesiar.registers.snapshots import snapshot_sql
from pesiar.sweep.models import WorklistItem

CLOSED_BY_VISIT = "visit"
CLIENT_ID = "client ids are unique across scopes; the row is checked against the user's scope"


class FieldError(ValueError):
    """A submission that cannot be accepted; `problems` says what to fix, one line each."""

    def __init__(self, problems: list[str] | str, status: int = 400) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.status = status
        super().__init__("; ".join(self.problems))


class NotFound(FieldError):
    def __init__(self, what: str) -> None:
        super().__init__(what, status=404)


def field_settings() -> dict[str, Any]:
    """PESIAR["FIELD"] with defaults: UNCONFIRMED_WEEKS (weeks after export without BPJS
    confirmation before a request is UNCONFIRMED)."""
    return {"UNCONFIRMED_WEEKS": 8, **settings.PESIAR.get("FIELD", {})}


def new_client_id() -> str:
    return str(uuid.uuid4())


def _clean_client_id(client_id: str | None) -> str:
    value = (client_id or "").strip()
    if not value:
        return new_client_id()
    if len(value) > 100:
        raise FieldError(_("client_id is longer than 100 characters"))
    return value


# --- agents and worklists ---------------------------------------------------------------------


def agent_villages(user: User) -> list[str]:
    """The village codes of an agent (their scopes), sorted."""
    return sorted(code for code in get_scope(user).codes if code.count(".") == 3)


def worklist(user: User, *, village: str = "", state: str = "") -> QuerySet:
    """The user's worklist families, highest priority first."""
    items = WorklistItem.objects.for_user(user).select_related("village")
    if village:
        items = items.filter(within_q(village, "village__pk"))
    if state:
        items = items.filter(state=state)
    return items.order_by("-priority", "kk")


def overlaps_scope(user: User, code: str) -> bool:
    """True when region `code` lies inside the user's scope or holds part of it (an agent's
    district holds their villages)."""
    scope = get_scope(user)
    return scope.contains(code) or any(is_within(c, code) for c in scope.codes)


def get_item(user: User, item_id: int) -> WorklistItem:
    item = WorklistItem.objects.for_user(user).filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("no worklist family %(id)s in your villages") % {"id": item_id})
    return item


# --- visits -----------------------------------------------------------------------------------


@dataclass
class VisitInput:
    item_id: int
    date: date
    outcome: str
    reason: str = ""
    note: str = ""
    latitude: Decimal | float | None = None
    longitude: Decimal | float | None = None
    client_id: str = ""
    source: str = Source.WEB
    base_version: int | None = None


def bump_version(item_id: int | None) -> None:
    """Raise the family's version after a change the field made to it."""
    if item_id is not None:
        WorklistItem.objects.unscoped(reason="the item was checked in scope").filter(
            pk=item_id
        ).update(version=F("version") + 1)


def is_conflict(item_id: int | None, base_version: int | None) -> bool:
    """True when a change was made against an older version of the family than the current
    one (the caller holds the item's row lock). No version sent: no conflict check."""
    if item_id is None or base_version is None:
        return False
    current = (
        WorklistItem.objects.unscoped(reason="the item was checked in scope")
        .filter(pk=item_id)
        .values_list("version", flat=True)
        .first()
    )
    return current is not None and base_version < current


def _check_visit(data: VisitInput) -> list[str]:
    problems = []
    if data.outcome not in Outcome.values:
        problems.append(
            _("outcome %(value)r is not one of %(choices)s")
            % {"value": data.outcome, "choices": ", ".join(Outcome.values)}
        )
    if data.outcome == Outcome.REFUSED and not data.reason.strip():
        problems.append(_("a refusal needs the reason the family gave"))
    if data.date > timezone.localdate():
        problems.append(_("the visit date %(date)s is in the future") % {"date": data.date})
    if (data.latitude is None) != (data.longitude is None):
        problems.append(_("give both latitude and longitude, or neither"))
    if data.latitude is not None and not -90 <= float(data.latitude) <= 90:
        problems.append(_("latitude must lie between -90 and 90"))
    if data.longitude is not None and not -180 <= float(data.longitude) <= 180:
        problems.append(_("longitude must lie between -180 and 180"))
    return problems


def _same_submission(existing: Any, user: User, what: str) -> None:
    if existing.agent_id != user.pk:
        raise FieldError(
            _("client_id is already used by another user's %(what)s") % {"what": what}, status=409
        )


def record_visit(user: User, data: VisitInput) -> tuple[Visit, bool]:
    """Record a visit to a worklist family in the user's scope; the family's state follows
    its latest visit. A retry with the same client_id returns the first visit."""
    require_personal_access(user)
    client_id = _clean_client_id(data.client_id)
    existing = Visit.objects.for_user(user).filter(client_id=client_id).first()
    if (
        existing is None
        and Visit.objects.unscoped(reason=CLIENT_ID).filter(client_id=client_id).exists()
    ):
        raise FieldError(_("client_id is already used by another user's visit"), status=409)
    if existing is not None:
        _same_submission(existing, user, "visit")
        return existing, False
    item = get_item(user, data.item_id)
    problems = _check_visit(data)
    if problems:
        raise FieldError(problems)
    with transaction.atomic():
        WorklistItem.objects.for_user(user).select_for_update().filter(pk=item.pk).first()
        visit, created = Visit.objects.unscoped(reason=CLIENT_ID).get_or_create(
            client_id=client_id,
            defaults={
                "base_version": data.base_version,
                "conflict": is_conflict(item.pk, data.base_version),
                "item": item,
                "agent": user,
                "date": data.date,
                "outcome": data.outcome,
                "reason": data.reason.strip()[:300],
                "note": data.note.strip(),
                "latitude": _decimal(data.latitude),
                "longitude": _decimal(data.longitude),
                "source": data.source,
            },
        )
        if created:
            follow_latest_visit(item)
            bump_version(item.pk)
    return visit, created


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value)).quantize(Decimal("0.000001"))


def follow_latest_visit(item: WorklistItem) -> None:
    """Set the item's outcome, last visit and state from its latest visit (by date, then
    recording order): closed after registered/moved/deceased, open otherwise."""
    latest = (
        Visit.objects.unscoped(reason="visits of one item already in scope")
        .filter(item_id=item.pk)
        .order_by("-date", "-id")
        .first()
    )
    if latest is None:
        return
    item.outcome, item.last_visit_at = latest.outcome, latest.date
    fields = ["outcome", "last_visit_at"]
    if latest.outcome in CLOSING_OUTCOMES:
        item.state = WorklistItem.State.CLOSED
        item.closed_as_of, item.closed_reason = latest.date, f"{CLOSED_BY_VISIT} {latest.outcome}"
        fields += ["state", "closed_as_of", "closed_reason"]
    elif item.state == WorklistItem.State.CLOSED and item.closed_reason.startswith(CLOSED_BY_VISIT):
        item.state, item.closed_as_of, item.closed_reason = WorklistItem.State.OPEN, None, ""
        fields += ["state", "closed_as_of", "closed_reason"]
    item.save(update_fields=fields)


# --- events -----------------------------------------------------------------------------------


@dataclass
class EventInput:
    village: str
    date: date
    kind: str
    attendees: int
    notes: str = ""
    client_id: str = ""
    source: str = Source.WEB


def record_event(user: User, data: EventInput) -> tuple[Event, bool]:
    """Record a socialisation event in a village of the user's scope (idempotent on
    client_id)."""
    require_personal_access(user)
    client_id = _clean_client_id(data.client_id)
    existing = Event.objects.for_user(user).filter(client_id=client_id).first()
    if (
        existing is None
        and Event.objects.unscoped(reason=CLIENT_ID).filter(client_id=client_id).exists()
    ):
        raise FieldError(_("client_id is already used by another user's event"), status=409)
    if existing is not None:
        _same_submission(existing, user, "event")
        return existing, False
    problems = []
    village = Region.objects.filter(code=data.village, level=4).first()
    if village is None or not in_scope(user, data.village):
        problems.append(
            _("village %(code)s is not a village in your scope") % {"code": data.village}
        )
    if data.kind not in EventKind.values:
        problems.append(
            _("kind %(value)r is not one of %(choices)s")
            % {"value": data.kind, "choices": ", ".join(EventKind.values)}
        )
    if data.attendees is None or data.attendees < 0:
        problems.append(_("attendees must be a number, 0 or more"))
    if data.date > timezone.localdate():
        problems.append(_("the event date %(date)s is in the future") % {"date": data.date})
    if problems:
        raise FieldError(problems)
    with transaction.atomic():
        return Event.objects.unscoped(reason=CLIENT_ID).get_or_create(
            client_id=client_id,
            defaults={
                "village": village,
                "agent": user,
                "date": data.date,
                "kind": data.kind,
                "attendees": data.attendees,
                "notes": data.notes.strip(),
                "source": data.source,
            },
        )


# --- registers: the family as Dukcapil and the latest map know it -----------------------------


def latest_population() -> Snapshot | None:
    return Snapshot.objects.latest_for("population", timezone.localdate())


def latest_persons_file() -> Path | None:
    from pesiar.linkage.models import LinkRun

    run = LinkRun.objects.filter(status=LinkRun.Status.DONE).order_by("-as_of", "-id").first()
    return run.persons_file if run is not None and run.persons_file.exists() else None


def family_from_registers(kk: str) -> list[dict[str, Any]]:
    """The living members of family card `kk` in the latest population snapshot, with their
    JKN status from the latest map (NOT_REGISTERED / ACTIVE / INACTIVE, or '' without a map).
    Pipeline-level read: callers check the family's village is in the user's scope."""
    snapshot = latest_population()
    if snapshot is None:
        raise FieldError(_("no population snapshot has been imported yet"))
    con = connect()
    try:
        rows = con.execute(
            f"""
            SELECT nik, name, sex, birth_date, family_relation, village_code
            FROM {snapshot_sql("population", snapshot.as_of)}
            WHERE kk = ? AND (death_date IS NULL OR death_date > ?)
            ORDER BY birth_date, nik
            """,
            [kk, snapshot.as_of],
        ).fetchall()
        persons = latest_persons_file()
        status: dict[str, str] = {}
        if persons is not None and rows:
            status = dict(
                con.execute(
                    f"SELECT nik, status FROM read_parquet({sql_path(persons)}) WHERE kk = ?",
                    [kk],
                ).fetchall()
            )
    finally:
        con.close()
    return [
        {
            "nik": nik,
            "name": name or "",
            "sex": sex or "",
            "birth_date": birth,
            "relation": relation or "",
            "village_code": village or "",
            "status": status.get(nik, ""),
        }
        for nik, name, sex, birth, relation, village in rows
    ]


# --- registration requests --------------------------------------------------------------------


@dataclass
class RegistrationInput:
    kk: str
    niks: list[str]
    segment: str
    jkn_class: int = 3
    faskes_code: str = ""
    item_id: int | None = None
    submit: bool = True
    note: str = ""
    client_id: str = ""
    source: str = Source.WEB
    problems: list[str] = field(default_factory=list)
    base_version: int | None = None


def validate_registration(
    user: User, data: RegistrationInput, *, submit: bool
) -> tuple[str, list[dict[str, Any]]]:
    """The family's village and the chosen members, or FieldError listing every problem:
    unknown NIK, NIK of another family, already a participant, a PBPU registration that
    leaves out an unregistered member of the family card, a missing faskes."""
    problems: list[str] = []
    kk = (data.kk or "").strip()
    if not (kk.isdigit() and len(kk) == 16):
        raise FieldError(
            _("the family card number (KK) must be 16 digits, got %(kk)r") % {"kk": kk}
        )
    if data.segment not in Segment.values:
        problems.append(
            _("segment %(value)r is not one of %(choices)s")
            % {"value": data.segment, "choices": ", ".join(Segment.values)}
        )
    if data.jkn_class not in (1, 2, 3):
        problems.append(_("class must be 1, 2 or 3"))
    if data.segment == Segment.PBI_APBD and data.jkn_class != 3:
        problems.append(_("PBI-APBD participants are in class 3"))
    faskes = (data.faskes_code or "").strip()
    if submit and not faskes:
        problems.append(_("choose the faskes (FKTP code) the family will be registered at"))
    niks = [n.strip() for n in data.niks if n and n.strip()]
    if not niks:
        problems.append(_("choose at least one family member to register"))
    dupes = sorted({n for n in niks if niks.count(n) > 1})
    if dupes:
        problems.append(_("NIK listed twice: %(niks)s") % {"niks": ", ".join(dupes)})

    family = family_from_registers(kk)
    if not family or not in_scope(user, family[0]["village_code"]):
        raise NotFound(
            _(
                "family card %(kk)s has no living member in the population snapshot of your "
                "villages: check the digits"
            )
            % {"kk": kk}
        )
    village = family[0]["village_code"]
    by_nik = {m["nik"]: m for m in family}
    chosen = []
    for nik in niks:
        member = by_nik.get(nik)
        if member is None:
            problems.append(
                _(
                    "NIK %(nik)s is not a living member of family card %(kk)s in the population "
                    "snapshot: check the digits against the KK"
                )
                % {"nik": nik, "kk": kk}
            )
            continue
        if member["status"] in ("ACTIVE", "INACTIVE"):
            problems.append(
                _(
                    "%(name)s (NIK %(nik)s) is already a JKN participant (%(status)s): leave "
                    "them out; an inactive participant needs reactivation, not registration"
                )
                % {"name": member["name"], "nik": nik, "status": member["status"].lower()}
            )
        chosen.append(member)
    if data.segment == Segment.PBPU and submit:
        missing = [
            m for m in family if m["nik"] not in niks and m["status"] in ("NOT_REGISTERED", "")
        ]
        if missing:
            problems.append(
                _("PBPU registers the whole family card: add %(who)s")
                % {"who": ", ".join(f"{m['name']} (NIK {m['nik']})" for m in missing)}
            )
    if problems:
        raise FieldError(problems)
    return village, chosen


OPEN_REQUEST_STATUSES = (RequestStatus.DRAFT, RequestStatus.SUBMITTED, RequestStatus.EXPORTED)


def open_request_problems(niks: list[str], *, besides: int | None = None) -> list[str]:
    """One problem per NIK already in an open request (draft, submitted or exported), naming
    that request: a person is sent to BPJS once. Looked up in every scope (the other request
    may be another agent's); only its number and status are told."""
    people = (
        RegistrationPerson.objects.unscoped(reason="a person is in one open request at a time")
        .filter(nik__in=niks, request__status__in=OPEN_REQUEST_STATUSES)
        .exclude(request_id=besides)
        .select_related("request")
        .order_by("nik", "request_id")
    )
    return [
        _(
            "%(name)s (NIK %(nik)s) is already in registration request #%(id)s (%(status)s): "
            "finish or correct that request instead of making another"
        )
        % {
            "name": p.name,
            "nik": p.nik,
            "id": p.request_id,
            "status": RequestStatus(p.request.status).label,
        }
        for p in people
    ]


def register_family(user: User, data: RegistrationInput) -> tuple[RegistrationRequest, bool]:
    """Create a registration request (DRAFT, or SUBMITTED when `data.submit`), validated
    against the population snapshot; idempotent on client_id."""
    require_personal_access(user)
    client_id = _clean_client_id(data.client_id)
    existing = RegistrationRequest.objects.for_user(user).filter(client_id=client_id).first()
    if (
        existing is None
        and RegistrationRequest.objects.unscoped(reason=CLIENT_ID)
        .filter(client_id=client_id)
        .exists()
    ):
        raise FieldError(_("client_id is already used by another user's registration"), status=409)
    if existing is not None:
        _same_submission(existing, user, "registration")
        return existing, False
    item = None
    if data.item_id is not None:
        item = get_item(user, data.item_id)
        if item.kk != data.kk:
            raise FieldError(
                _("worklist family %(id)s has family card %(item_kk)s, not %(kk)s")
                % {"id": item.pk, "item_kk": item.kk, "kk": data.kk}
            )
    else:
        item = WorklistItem.objects.for_user(user).filter(kk=data.kk).first()
    village, members = validate_registration(user, data, submit=data.submit)
    now = timezone.now()
    with transaction.atomic():
        # one writer per family at a time (PostgreSQL; SQLite writes one at a time anyway)
        WorklistItem.objects.for_user(user).select_for_update().filter(kk=data.kk).first()
        problems = open_request_problems([m["nik"] for m in members])
        twin = RegistrationRequest.objects.unscoped(reason=CLIENT_ID).filter(client_id=client_id)
        if problems and not twin.exists():
            raise FieldError(problems, status=409)
        request, created = RegistrationRequest.objects.unscoped(reason=CLIENT_ID).get_or_create(
            client_id=client_id,
            defaults={
                "base_version": data.base_version,
                "conflict": is_conflict(item.pk if item else None, data.base_version),
                "village_id": village,
                "item": item,
                "kk": data.kk,
                "segment": data.segment,
                "jkn_class": data.jkn_class,
                "faskes_code": data.faskes_code.strip(),
                "status": RequestStatus.SUBMITTED if data.submit else RequestStatus.DRAFT,
                "submitted_at": now if data.submit else None,
                "agent": user,
                "note": data.note.strip(),
                "source": data.source,
            },
        )
        if created:
            RegistrationPerson.objects.bulk_create(
                [
                    RegistrationPerson(
                        request=request,
                        nik=m["nik"],
                        name=m["name"],
                        sex=m["sex"],
                        birth_date=m["birth_date"],
                        relation=m["relation"],
                    )
                    for m in members
                ]
            )
            bump_version(item.pk if item else None)
    return request, created


def get_registration(user: User, pk: int) -> RegistrationRequest:
    request = RegistrationRequest.objects.for_user(user).filter(pk=pk).first()
    if request is None:
        raise NotFound(_("no registration request %(id)s in your scope") % {"id": pk})
    return request


def registration_people(user: User, request: RegistrationRequest) -> list[RegistrationPerson]:
    return list(RegistrationPerson.objects.for_user(user).filter(request=request))


def submit_registration(user: User, pk: int) -> RegistrationRequest:
    """DRAFT -> SUBMITTED after the full validation (whole family card for PBPU); submitting
    a request that is already past DRAFT changes nothing (a retry)."""
    request = get_registration(user, pk)
    if request.status != RequestStatus.DRAFT:
        return request
    if request.agent_id != user.pk and user.role == Role.AGENT:
        raise FieldError(_("only the agent who drafted the request submits it"), status=403)
    data = RegistrationInput(
        kk=request.kk,
        niks=[p.nik for p in registration_people(user, request)],
        segment=request.segment,
        jkn_class=request.jkn_class,
        faskes_code=request.faskes_code,
    )
    validate_registration(user, data, submit=True)
    with transaction.atomic():
        updated = (
            RegistrationRequest.objects.for_user(user)
            .filter(pk=pk, status=RequestStatus.DRAFT)
            .update(status=RequestStatus.SUBMITTED, submitted_at=timezone.now())
        )
    if updated:
        request.refresh_from_db()
    return request


# --- batch export for BPJS --------------------------------------------------------------------

BATCH_COLUMNS = [
    "batch", "request", "village_code", "village_name", "kk", "nik", "name", "sex",
    "birth_date", "relation", "segment", "class", "faskes_code", "agent", "submitted_at",
]  # fmt: skip


def batch_folder(batch: ExportBatch) -> Path:
    return Path(settings.DATA_DIR) / batch.folder


def can_make_batches(user: User) -> bool:
    """BPJS branch officers (and Dukcapil officers) make the batch files: they carry full NIKs."""
    return Viewer.of(user).full_identifiers and user.role != Role.AGENT


def export_batch(user: User, code: str) -> ExportBatch | None:
    """Put every SUBMITTED request inside `code` (and the user's scope) into a new batch for
    BPJS: batch-N.xlsx and batch-N.csv; the requests become EXPORTED. None when there is
    nothing to export. Logged as an export of the people listed."""
    require_personal_access(user)
    region = Region.objects.filter(code=code).first()
    if region is None or not in_scope(user, code):
        raise NotFound(_("region %(code)s is not in your scope") % {"code": code})
    if not can_make_batches(user):
        raise FieldError(
            _("batch files for BPJS carry full NIKs: BPJS branch officers (or Dukcapil) make them"),
            status=403,
        )
    with transaction.atomic():
        requests = list(
            RegistrationRequest.objects.for_user(user)
            .select_for_update(of=("self",))
            .filter(status=RequestStatus.SUBMITTED)
            .filter(within_q(code, "village__pk"))
            .select_related("agent", "village")
            .order_by("village_id", "submitted_at", "id")
        )
        if not requests:
            return None
        people = list(
            RegistrationPerson.objects.for_user(user)
            .filter(request__in=[r.pk for r in requests])
            .order_by("request_id", "id")
        )
        folder = Path("field") / "batches" / uuid.uuid4().hex
        batch = ExportBatch.objects.create(
            region=region,
            created_by=user,
            requests=len(requests),
            people=len(people),
            folder=str(folder),
        )
        by_request: dict[int, list[RegistrationPerson]] = defaultdict(list)
        for p in people:
            by_request[p.request_id].append(p)
        rows = [
            [
                batch.pk, r.pk, r.village_id, r.village.name, r.kk, p.nik, p.name,
                p.sex, p.birth_date.isoformat() if p.birth_date else "", p.relation, r.segment,
                r.jkn_class, r.faskes_code, r.agent.get_username(),
                timezone.localtime(r.submitted_at).isoformat(timespec="seconds")
                if r.submitted_at else "",
            ]
            for r in requests
            for p in by_request[r.pk]
        ]  # fmt: skip
        out = Path(settings.DATA_DIR) / folder
        out.mkdir(parents=True)
        write_batch_files(out, f"batch-{batch.pk}", rows)
        now = timezone.now()
        RegistrationRequest.objects.for_user(user).filter(pk__in=[r.pk for r in requests]).update(
            status=RequestStatus.EXPORTED, batch=batch, exported_at=now
        )
    Viewer.of(user).log(AccessKind.EXPORT, f"field batch {batch.pk}", rows=len(rows), region=code)
    return batch


def write_batch_files(out: Path, stem: str, rows: list[list[Any]]) -> None:
    """CSV and XLSX of the batch; typed-in text (faskes code, names) never becomes a formula."""
    with (out / f"{stem}.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(BATCH_COLUMNS)
        writer.writerows(csv_row(row) for row in rows)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("registrations")
    ws.append(BATCH_COLUMNS)
    for row in rows:
        # identifiers as text, so Excel keeps all 16 digits
        ws.append(xlsx_row(ws, [str(v) if i in (4, 5) else v for i, v in enumerate(row)]))
    wb.save(out / f"{stem}.xlsx")


def batch_file(user: User, pk: int, fmt: str) -> tuple[Path, int]:
    """The batch's file in `fmt` (xlsx/csv) and its row count, for a user who makes batches and
    whose scope holds the batch's region."""
    batch = ExportBatch.objects.for_user(user).filter(pk=pk).first()
    if batch is None or fmt not in ("xlsx", "csv") or not can_make_batches(user):
        raise NotFound(_("no batch file %(id)s.%(fmt)s in your scope") % {"id": pk, "fmt": fmt})
    return batch_folder(batch) / f"batch-{batch.pk}.{fmt}", batch.people


# --- agent KPIs -------------------------------------------------------------------------------


def agent_kpis(user: User, code: str, start: date, end: date) -> list[dict[str, Any]]:
    """Per agent whose villages lie inside `code` and the user's scope, for dates start..end
    (inclusive): families visited, registrations submitted, confirmed (incl. activated),
    people activated, events held and their attendance. Aggregates: no personal rows."""
    scope = get_scope(user)
    agents = []
    for agent in User.objects.filter(role=Role.AGENT, is_active=True).prefetch_related("scopes"):
        villages = sorted(s.region_id for s in agent.scopes.all())
        inside = [v for v in villages if is_within(v, code) and scope.contains(v)]
        if inside:
            agents.append((agent, inside))
    if not agents:
        return []
    start_dt = timezone.make_aware(datetime.combine(start, datetime.min.time()))
    end_dt = timezone.make_aware(datetime.combine(end, datetime.max.time()))
    reason = "agent KPIs: aggregates per agent of villages inside the user's scope"

    def in_villages(lookup: str, villages: list[str]) -> Q:
        return Q(**{f"{lookup}__in": villages})

    out = []
    for agent, villages in agents:
        visits = Visit.objects.unscoped(reason=reason).filter(
            in_villages("item__village_id", villages), agent_id=agent.pk, date__range=(start, end)
        )
        requests = RegistrationRequest.objects.unscoped(reason=reason).filter(
            in_villages("village_id", villages), agent_id=agent.pk
        )
        submitted = requests.filter(submitted_at__range=(start_dt, end_dt))
        confirmed = requests.filter(
            confirmed_at__range=(start_dt, end_dt),
            status__in=[RequestStatus.CONFIRMED, RequestStatus.ACTIVATED],
        )
        activated = (
            RegistrationPerson.objects.unscoped(reason=reason)
            .filter(request__in=confirmed.values("pk"), status=PersonStatus.ACTIVE)
            .count()
        )
        events = Event.objects.unscoped(reason=reason).filter(
            in_villages("village_id", villages), agent_id=agent.pk, date__range=(start, end)
        )
        ev = events.aggregate(n=Count("id"), people=Sum("attendees"))
        out.append(
            {
                "agent": agent.get_username(),
                "name": agent.get_full_name() or agent.get_username(),
                "villages": villages,
                "families_visited": visits.values("item_id").distinct().count(),
                "registrations_submitted": submitted.count(),
                "confirmed": confirmed.count(),
                "activated": activated,
                "events": ev["n"] or 0,
                "attendance": ev["people"] or 0,
            }
        )
    return sorted(out, key=lambda row: row["agent"])

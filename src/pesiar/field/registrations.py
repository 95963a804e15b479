"""Registration requests: the family as the latest population snapshot and map know it, the
checks of a request against it, and its way from DRAFT to SUBMITTED (once per client_id)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pesiar.accounts.models import Role, User
from pesiar.accounts.scoping import in_scope, require_personal_access
from pesiar.field.agents import get_item
from pesiar.field.models import (
    RegistrationPerson,
    RegistrationRequest,
    RequestStatus,
    Segment,
    Source,
)
from pesiar.field.submissions import (
    CLIENT_ID,
    FieldError,
    NotFound,
    bump_version,
    clean_client_id,
    earlier_submission,
    is_conflict,
)
from pesiar.linkage.models import LinkRun
from pesiar.ops.duck import connect, sql_path
from pesiar.registers.models import Snapshot
from pesiar.registers.snapshots import snapshot_sql
from pesiar.sweep.models import WorklistItem


def latest_population() -> Snapshot | None:
    return Snapshot.objects.latest_for("population", timezone.localdate())


def latest_persons_file() -> Path | None:
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
    client_id = clean_client_id(data.client_id)
    taken = _("client_id is already used by another user's registration")
    existing = earlier_submission(user, RegistrationRequest, client_id, taken)
    if existing is not None:
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

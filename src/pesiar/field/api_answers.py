"""What the field API answers: worklist families, visits, events and registration requests as
the viewer may see them (NIK/KK masked for masked roles, the birth date for full-identifier
roles only), each answer with personal rows written to the access log."""

from datetime import date
from typing import Any

from django.http import HttpRequest

from pesiar.accounts.models import AccessKind
from pesiar.accounts.viewer import viewer_for
from pesiar.field.models import Event, RegistrationPerson, Visit
from pesiar.sweep.models import WorklistMember

AUDIT = AccessKind.API


def log_rows(request: HttpRequest, rows: int, *, identifiers: bool = True) -> None:
    if rows:
        viewer_for(request).log(AUDIT, request.path, rows=rows, identifiers=identifiers)


def items_out(request: HttpRequest, items: list) -> list[dict[str, Any]]:
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
    log_rows(request, len(out) + sum(len(v) for v in members.values()))
    return out


def _birth(viewer: Any, value: date | None) -> dict[str, Any]:
    """birth_date for roles that see identifiers in full, birth_year for everyone."""
    return {
        "birth_date": value if viewer.full_identifiers else None,
        "birth_year": value.year if value else None,
    }


def visit_out(v: Visit) -> dict[str, Any]:
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


def event_out(e: Event) -> dict[str, Any]:
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


def registrations_out(request: HttpRequest, requests: list) -> list[dict[str, Any]]:
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
    log_rows(request, sum(len(v) for v in people.values()))
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

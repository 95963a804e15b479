"""Reconciliation: does a membership snapshot show the people agents registered?

Runs after every membership import (the registers send `snapshot_imported`, received by
`after_membership_import`) and on demand (`pesiar reconcile`). For each exported request whose
export date is on or before the snapshot's date, every person found by NIK in the snapshot
becomes REGISTERED (ACTIVE when the participant is active). A request whose people are all
registered is CONFIRMED (ACTIVATED when all are active); one still not confirmed
UNCONFIRMED_WEEKS after its export (by the snapshot's date) is UNCONFIRMED, and a later
snapshot can still confirm it.
"""

import logging
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from pesiar.field.models import PersonStatus, RegistrationPerson, RegistrationRequest, RequestStatus
from pesiar.field.submissions import field_settings
from pesiar.ops.duck import connect, sql_path
from pesiar.regions.codes import within_q
from pesiar.registers.models import Snapshot

logger = logging.getLogger(__name__)

UNSCOPED = "reconciliation of registration requests against a membership snapshot"
OPEN_STATUSES = [RequestStatus.EXPORTED, RequestStatus.CONFIRMED, RequestStatus.UNCONFIRMED]
RANK = {PersonStatus.PENDING: 0, PersonStatus.REGISTERED: 1, PersonStatus.ACTIVE: 2}


def after_membership_import(sender, *, snapshot: Snapshot, **kwargs) -> dict | None:
    """Receiver of pesiar.registers.signals.snapshot_imported: reconcile against a new
    membership snapshot. A failure is logged and recorded in the snapshot's summary (the
    snapshot stays); `pesiar reconcile` runs it again."""
    if snapshot.kind != "membership":
        return None
    try:
        return {"reconciliation": reconcile(snapshot)}
    except Exception as exc:
        logger.exception("reconciliation after membership snapshot #%s failed", snapshot.pk)
        return {"reconciliation": {"error": f"{type(exc).__name__}: {exc}"[:500]}}


def reconcile(snapshot: Snapshot, *, today: date | None = None) -> dict[str, int]:
    """Confirm, activate or give up on exported registration requests against membership
    `snapshot`; returns counts {requests, confirmed, activated, unconfirmed, people_found}."""
    if snapshot.kind != "membership":
        raise ValueError(f"snapshot #{snapshot.pk} is a {snapshot.kind} snapshot, not membership")
    weeks = int(field_settings()["UNCONFIRMED_WEEKS"])
    clock = today or snapshot.as_of
    # only the requests inside the region the snapshot covers: another region's snapshot
    # says nothing of them
    requests = list(
        RegistrationRequest.objects.unscoped(reason=UNSCOPED)
        .filter(status__in=OPEN_STATUSES)
        .filter(within_q(snapshot.scope, "village__pk"))
    )
    requests = [r for r in requests if timezone.localdate(r.exported_at) <= snapshot.as_of]
    counts = {"requests": len(requests), "confirmed": 0, "activated": 0, "unconfirmed": 0}
    counts["people_found"] = 0
    if not requests:
        return counts
    people = list(
        RegistrationPerson.objects.unscoped(reason=UNSCOPED).filter(
            request_id__in=[r.pk for r in requests]
        )
    )
    found = _find(snapshot, sorted({p.nik for p in people}))
    now = timezone.now()
    by_request: dict[int, list[RegistrationPerson]] = {}
    for p in people:
        by_request.setdefault(p.request_id, []).append(p)
    with transaction.atomic():
        for p in people:
            hit = found.get(p.nik)
            if hit is None:
                continue
            counts["people_found"] += 1
            noka, active = hit
            status = PersonStatus.ACTIVE if active else PersonStatus.REGISTERED
            if RANK[status] > RANK[PersonStatus(p.status)] or (noka and noka != p.noka):
                if RANK[status] > RANK[PersonStatus(p.status)]:
                    p.status = status
                p.noka = noka or p.noka
                p.save(update_fields=["status", "noka"])
        for r in requests:
            members = by_request.get(r.pk, [])
            statuses = {m.status for m in members}
            if members and statuses == {PersonStatus.ACTIVE}:
                new = RequestStatus.ACTIVATED
            elif members and PersonStatus.PENDING not in statuses:
                new = RequestStatus.CONFIRMED
            elif clock >= timezone.localdate(r.exported_at) + timedelta(weeks=weeks):
                new = RequestStatus.UNCONFIRMED
            else:
                new = r.status
            if new == r.status:
                continue
            fields: dict[str, Any] = {"status": new}
            if new in (RequestStatus.CONFIRMED, RequestStatus.ACTIVATED):
                if r.confirmed_at is None:
                    fields.update(confirmed_at=now, confirmed_by=snapshot)
                counts["confirmed" if new == RequestStatus.CONFIRMED else "activated"] += 1
            else:
                fields["unconfirmed_at"] = now
                counts["unconfirmed"] += 1
            RegistrationRequest.objects.unscoped(reason=UNSCOPED).filter(pk=r.pk).update(**fields)
    logger.info("reconciled membership snapshot #%s: %s", snapshot.pk, counts)
    return counts


def _find(snapshot: Snapshot, niks: list[str]) -> dict[str, tuple[str, bool]]:
    """NIK -> (noka, active) for the NIKs present in the snapshot (an active card wins)."""
    if not niks:
        return {}
    con = connect()
    try:
        con.execute("CREATE TEMP TABLE wanted (nik VARCHAR)")
        con.executemany("INSERT INTO wanted VALUES (?)", [[n] for n in niks])
        path = sql_path(snapshot.data_file)
        rows = con.execute(
            f"""
            SELECT m.nik, arg_max(m.noka, m.status = 'ACTIVE'), bool_or(m.status = 'ACTIVE')
            FROM read_parquet({path}) m JOIN wanted w ON w.nik = m.nik
            GROUP BY m.nik
            """
        ).fetchall()
    finally:
        con.close()
    return {nik: (noka or "", bool(active)) for nik, noka, active in rows}


def reconcile_latest(*, today: date | None = None) -> dict[str, int]:
    """Reconcile against the latest current membership snapshot (for `pesiar reconcile`)."""
    snapshot = Snapshot.objects.latest_for("membership", today or timezone.localdate())
    if snapshot is None:
        return {}
    return reconcile(snapshot, today=today or timezone.localdate())

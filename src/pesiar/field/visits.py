"""Visits to worklist families: checked, recorded once per client_id, and followed by the
family's state."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pesiar.accounts.models import User
from pesiar.accounts.scoping import require_personal_access
from pesiar.field.agents import get_item
from pesiar.field.models import (
    CLOSING_OUTCOMES,
    Outcome,
    Source,
    Visit,
)
from pesiar.field.submissions import (
    CLIENT_ID,
    FieldError,
    bump_version,
    clean_client_id,
    earlier_submission,
    is_conflict,
)
from pesiar.sweep.models import WorklistItem

CLOSED_BY_VISIT = "visit"


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


def record_visit(user: User, data: VisitInput) -> tuple[Visit, bool]:
    """Record a visit to a worklist family in the user's scope; the family's state follows
    its latest visit. A retry with the same client_id returns the first visit."""
    require_personal_access(user)
    client_id = clean_client_id(data.client_id)
    taken = _("client_id is already used by another user's visit")
    existing = earlier_submission(user, Visit, client_id, taken)
    if existing is not None:
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

"""Socialisation events in a village of the user's scope (recorded once per client_id)."""

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pesiar.accounts.models import User
from pesiar.accounts.scoping import in_scope, require_personal_access
from pesiar.field.models import (
    Event,
    EventKind,
    Source,
)
from pesiar.field.submissions import CLIENT_ID, FieldError, clean_client_id, earlier_submission
from pesiar.regions.models import Region


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
    client_id = clean_client_id(data.client_id)
    taken = _("client_id is already used by another user's event")
    existing = earlier_submission(user, Event, client_id, taken)
    if existing is not None:
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

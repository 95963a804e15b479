"""Agent KPIs: per agent, what they did in a period (aggregates, no personal rows)."""

from datetime import date, datetime
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from pesiar.accounts.models import Role, User
from pesiar.accounts.scoping import get_scope
from pesiar.field.models import (
    Event,
    PersonStatus,
    RegistrationPerson,
    RegistrationRequest,
    RequestStatus,
    Visit,
)
from pesiar.regions.codes import is_within


def agent_kpis(user: User | None, code: str, start: date, end: date) -> list[dict[str, Any]]:
    """Per agent whose villages lie inside `code` and the user's scope (all for None: the
    operator's command line), for dates start..end (inclusive): families visited,
    registrations submitted, confirmed (incl. activated), people activated, events held and
    their attendance. Aggregates: no personal rows."""
    scope = get_scope(user) if user is not None else None
    agents = []
    for agent in User.objects.filter(role=Role.AGENT, is_active=True).prefetch_related("scopes"):
        villages = sorted(s.region_id for s in agent.scopes.all())
        inside = [
            v for v in villages if is_within(v, code) and (scope is None or scope.contains(v))
        ]
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

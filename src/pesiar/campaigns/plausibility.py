"""Plausibility flags for a supervisor: records that deserve a second look before an
honorarium is paid. A flag is a question, not a verdict: each says what was seen.

- `FUTURE`: a visit dated after the day it was recorded, or before the family was listed.
- `NIGHT`: a visit entered on the web between 22:00 and 05:00 (local time).
- `FAR`: a visit whose position lies outside Indonesia, or more than `FAR_KM` from the middle
  (median) of the other located visits in the same village.
- `BURST`: more than `BURST_PER_DAY` visits by one agent on one day (the benchmark is about 5).
- `REPEAT`: the same family visited `REPEAT_VISITS` times or more with the same outcome and the
  family still open (nothing changed).
- `NEVER_CONFIRMED`: a registration no membership snapshot confirmed within the waiting period
  (status unconfirmed).
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from statistics import median

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pesiar.field.models import RegistrationRequest, RequestStatus, Source, Visit
from pesiar.regions.models import within_q

BURST_PER_DAY = 20
REPEAT_VISITS = 3
FAR_KM = 15.0
NIGHT_HOURS = (22, 5)
# Indonesia's extent, generously: latitude, longitude.
INDONESIA = ((-11.5, 6.5), (94.5, 141.5))
UNSCOPED = "plausibility flags: records of agents inside the supervisor's scope"

LABELS = {
    "FUTURE": gettext_lazy("date impossible"),
    "NIGHT": gettext_lazy("entered at night"),
    "FAR": gettext_lazy("far from the village"),
    "BURST": gettext_lazy("too many visits in one day"),
    "REPEAT": gettext_lazy("same family again, nothing changed"),
    "NEVER_CONFIRMED": gettext_lazy("registration never confirmed"),
}


@dataclass
class Flag:
    kind: str
    agent: str
    village: str
    day: date | None
    detail: str
    visit_id: int | None = None
    request_id: int | None = None

    @property
    def label(self) -> str:
        return str(LABELS[self.kind])


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _in_indonesia(lat: float, lon: float) -> bool:
    (lat_lo, lat_hi), (lon_lo, lon_hi) = INDONESIA
    return lat_lo <= lat <= lat_hi and lon_lo <= lon <= lon_hi


def visit_flags(visits: list[Visit]) -> list[Flag]:
    """The flags on `visits` (with `item` and `agent` loaded)."""
    flags: list[Flag] = []
    located: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    per_day: dict[tuple[int, date], list[Visit]] = defaultdict(list)
    per_item: dict[int, list[Visit]] = defaultdict(list)
    for v in visits:
        agent, village = v.agent.get_username(), v.item.village_id
        recorded = timezone.localtime(v.created_at)
        if v.date > recorded.date() or v.date < v.item.first_as_of:
            detail = _("visit dated %(d)s, recorded %(r)s") % {"d": v.date, "r": recorded.date()}
            flags.append(Flag("FUTURE", agent, village, v.date, detail, visit_id=v.pk))
        late, early = NIGHT_HOURS
        if v.source == Source.WEB and (recorded.hour >= late or recorded.hour < early):
            flags.append(Flag("NIGHT", agent, village, v.date, _("entered at %(t)s")
                              % {"t": recorded.strftime("%H:%M")}, visit_id=v.pk))  # fmt: skip
        if v.latitude is not None and v.longitude is not None:
            located[village].append((v.pk, float(v.latitude), float(v.longitude)))
        per_day[(v.agent_id, v.date)].append(v)
        per_item[v.item_id].append(v)
    by_pk = {v.pk: v for v in visits}
    for village, points in located.items():
        for pk, lat, lon in points:
            v = by_pk[pk]
            if not _in_indonesia(lat, lon):
                flags.append(Flag("FAR", v.agent.get_username(), village, v.date,
                                  _("position outside Indonesia"), visit_id=pk))  # fmt: skip
                continue
            others = [(a, b) for p, a, b in points if p != pk and _in_indonesia(a, b)]
            if len(others) < 4:
                continue
            middle = (median(a for a, _b in others), median(b for _a, b in others))
            distance = km((lat, lon), middle)
            if distance > FAR_KM:
                flags.append(Flag("FAR", v.agent.get_username(), village, v.date,
                                  _("%(km)s km from the village's other visits")
                                  % {"km": round(distance)}, visit_id=pk))  # fmt: skip
    for (_agent_id, day), same_day in per_day.items():
        if len(same_day) > BURST_PER_DAY:
            first = same_day[0]
            flags.append(Flag("BURST", first.agent.get_username(), first.item.village_id, day,
                              _("%(n)s visits in one day") % {"n": len(same_day)}))  # fmt: skip
    for _item_id, item_visits in per_item.items():
        item = item_visits[0].item
        outcomes = {v.outcome for v in item_visits}
        if len(item_visits) >= REPEAT_VISITS and len(outcomes) == 1 and item.state == "OPEN":
            last = max(item_visits, key=lambda v: (v.date, v.pk))
            flags.append(Flag("REPEAT", last.agent.get_username(), item.village_id, last.date,
                              _("%(n)s visits, each: %(o)s")
                              % {"n": len(item_visits), "o": last.get_outcome_display()},
                              visit_id=last.pk))  # fmt: skip
    return flags


def request_flags(requests: list[RegistrationRequest]) -> list[Flag]:
    return [
        Flag(
            "NEVER_CONFIRMED",
            r.agent.get_username(),
            r.village_id,
            timezone.localdate(r.exported_at) if r.exported_at else None,
            _("exported, not shown by BPJS after the waiting period"),
            request_id=r.pk,
        )
        for r in requests
        if r.status == RequestStatus.UNCONFIRMED
    ]


def flags_for(user, code: str, start: date, end: date) -> list[Flag]:
    """Every flag on the visits and registrations of `start`..`end` inside region `code`
    and the user's scope (the user must see personal rows: a flag names a family)."""
    visits = list(
        Visit.objects.for_user(user)
        .filter(within_q(code, "item__village__code"), date__range=(start, end))
        .select_related("item", "agent")
    )
    requests = list(
        RegistrationRequest.objects.for_user(user)
        .filter(within_q(code, "village__code"), status=RequestStatus.UNCONFIRMED)
        .select_related("agent")
    )
    flags = visit_flags(visits) + request_flags(requests)
    return sorted(flags, key=lambda f: (f.agent, f.day or date.min, f.kind))

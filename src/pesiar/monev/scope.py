"""Monev: whose figures a user sees, the labels, and the dates with figures.

Everything in Monev takes the user whose view it is and reads region-keyed rows through
`for_user(user)`; `user=None` is the command line (`pesiar report`), which sees every region
and says so with `unscoped(reason=...)`. The nation (code '') is the sum of the provinces for
the national administrator, and the sum of a scoped user's regions for everyone else.
"""

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from pesiar.accounts.scoping import get_scope
from pesiar.coverage.models import Indicator
from pesiar.monev.models import Boundary
from pesiar.regions.models import is_within

CLI_REASON = "pesiar report on the command line: the operator reports on any region"
NATION = ""
LEVEL_NAMES = {
    0: gettext_lazy("Indonesia"),
    1: gettext_lazy("Province"),
    2: gettext_lazy("Regency/City"),
    3: gettext_lazy("District"),
    4: gettext_lazy("Village"),
}
LEVEL_PLURALS = {
    1: gettext_lazy("Provinces"),
    2: gettext_lazy("Regencies/Cities"),
    3: gettext_lazy("Districts"),
    4: gettext_lazy("Villages"),
}
SEGMENT_LABELS = {
    "PBI_APBN": gettext_lazy("PBI APBN (paid by the central government)"),
    "PBI_APBD": gettext_lazy("PBI APBD (paid by the Pemda)"),
    "PPU": gettext_lazy("PPU (wage earners)"),
    "PBPU": gettext_lazy("PBPU (self-paying)"),
    "BP": gettext_lazy("BP (non-workers)"),
}
REASON_LABELS = {
    "ARREARS": gettext_lazy("Arrears"),
    "PBI_DEACTIVATED": gettext_lazy("PBI deactivated"),
    "LAYOFF_ENDED": gettext_lazy("Layoff cover ended"),
    "DECEASED": gettext_lazy("Deceased"),
    "OTHER": gettext_lazy("Other"),
}
# The figures change only when `pesiar map` stores new indicators (new row ids), so a dashboard
# is cached per scope, region, date and language under the newest row id, for at most
# CACHE_SECONDS; what the sweep and the field apps add (worklists, visits) for OPTIONAL_SECONDS.
CACHE_SECONDS = 300
OPTIONAL_SECONDS = 60
METRICS = {"active": gettext_lazy("Active %"), "coverage": gettext_lazy("Coverage %")}


# --- scoped querysets --------------------------------------------------------------------------


def indicators(user: Any | None) -> QuerySet:
    if user is None:
        return Indicator.objects.unscoped(reason=CLI_REASON)
    return Indicator.objects.for_user(user)


def boundaries(user: Any | None) -> QuerySet:
    if user is None:
        return Boundary.objects.unscoped(reason=CLI_REASON)
    return Boundary.objects.for_user(user)


def findings(user: Any | None) -> QuerySet:
    from pesiar.registers.models import Finding

    if user is None:
        return Finding.objects.unscoped(reason=CLI_REASON)
    return Finding.objects.for_user(user)


def scope_codes(user: Any | None) -> tuple[str, ...] | None:
    """The user's scope codes; None for national users and the command line."""
    if user is None:
        return None
    scope = get_scope(user)
    return None if scope.national else scope.codes


def can_view(user: Any | None, code: str) -> bool:
    """May the user open the dashboard of region `code` ('' is everyone's own top view)?"""
    if code == NATION or user is None:
        return True
    codes = scope_codes(user)
    return codes is None or any(is_within(code, c) for c in codes)


# --- dates ---------------------------------------------------------------------------------------


def dates(user: Any | None) -> list[date]:
    """Dates with indicators the user can see, newest first."""
    rows = indicators(user).order_by().values_list("as_of", flat=True).distinct()
    return sorted(set(rows), reverse=True)


def resolve_as_of(
    user: Any | None, requested: date | None = None, available: list[date] | None = None
) -> date | None:
    """The requested date if it has figures, else the latest date before it (or the latest)."""
    available = dates(user) if available is None else available
    if not available:
        return None
    if requested is None:
        return available[0]
    earlier = [d for d in available if d <= requested]
    return earlier[0] if earlier else available[-1]


def parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None

"""Monev: whose figures a user sees, the labels, and the dates with figures.

Everything in Monev takes the user whose view it is and reads region-keyed rows through
`for_user(user)`; `user=None` is the command line (`pesiar report`), which sees every region
and says so with `unscoped(reason=...)`. The nation (code '') is the sum of the provinces for
the national administrator, and the sum of a scoped user's regions for everyone else.
"""

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy

from pesiar.accounts.scoping import get_scope
from pesiar.coverage.models import Indicator
from pesiar.monev.models import Boundary
from pesiar.regions.models import Region, is_within, under_q

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
# The figures change only when `pesiar map` stores new indicators (new row ids), so a dashboard
# is cached per scope, region, date and language under the newest row id, for at most
# CACHE_SECONDS; what the sweep and the field apps add (worklists, visits) for OPTIONAL_SECONDS.
CACHE_SECONDS = 300
OPTIONAL_SECONDS = 60
METRICS = {"active": gettext_lazy("Active %"), "coverage": gettext_lazy("Coverage %")}


# --- scoped querysets --------------------------------------------------------------------------


PEER_REASON = "aggregates of the peers (siblings and parents) of the user's regions: no people"


def peer_codes(codes: Sequence[str]) -> frozenset[str]:
    """The regions an officer compares with: for each scope region and each region above it,
    its siblings (the children of its parent; the provinces at the top). Cached."""
    key = "monev:peers:" + ",".join(sorted(codes))
    found = cache.get(key)
    if found is None:
        out: set[str] = set()
        for code in codes:
            parts = code.split(".")
            for level in range(len(parts), 0, -1):
                parent = ".".join(parts[: level - 1])
                out.update(
                    Region.objects.filter(under_q(parent), level=level).values_list(
                        "code", flat=True
                    )
                )
        found = frozenset(out)
        cache.set(key, found, CACHE_SECONDS)
    return found


def _with_peers(model: Any, user: Any | None) -> QuerySet:
    """The rows of `model` (keyed by region) of the user's regions and what lies under them,
    plus those of the peers of each; all of them for the command line."""
    if user is None:
        return model.objects.unscoped(reason=CLI_REASON)
    codes = scope_codes(user)
    mine = model.objects.for_user(user)
    if not codes:
        return mine
    peers = model.objects.unscoped(reason=PEER_REASON).filter(
        region_id__in=sorted(peer_codes(codes))
    )
    return mine | peers


def indicators(user: Any | None) -> QuerySet:
    """The figures the user sees: their regions and what lies under them, plus the peers of
    each (figures are aggregates: they hold no personal data)."""
    return _with_peers(Indicator, user)


def boundaries(user: Any | None) -> QuerySet:
    """Outlines of the regions the user sees figures of (outlines are public)."""
    return _with_peers(Boundary, user)


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


def in_scope(user: Any | None, code: str) -> bool:
    """Is region `code` inside the user's own regions (not only a peer)?"""
    if code == NATION or user is None:
        return True
    codes = scope_codes(user)
    return codes is None or any(is_within(code, c) for c in codes)


def can_view(user: Any | None, code: str) -> bool:
    """May the user open the dashboard of region `code` ('' is everyone's own top view)?
    Their own regions, and the peers they compare with (aggregates only)."""
    if in_scope(user, code):
        return True
    codes = scope_codes(user)
    return bool(codes) and code in peer_codes(codes)


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


UHC_LABELS = {
    "PARIPURNA": gettext_lazy("Paripurna (coverage at least 98%)"),
    "UTAMA": gettext_lazy("Utama (coverage 95% to under 98%)"),
    "MADYA": gettext_lazy("Madya (coverage 80% to under 95%)"),
    "PRATAMA": gettext_lazy("Pratama (coverage under 80%)"),
}


def uhc_label(value: str) -> str:
    """The UHC class in words, with its coverage range ('-' when there is none)."""
    if not value:
        return "-"
    return str(UHC_LABELS.get(value, value.replace("_", " ").title()))


FINDING_LABELS = {
    "NIK_BLANK": gettext_lazy("NIK blank"),
    "NIK_BIRTHDATE_MISMATCH": gettext_lazy("NIK does not match the birth date"),
    "NIK_SEX_MISMATCH": gettext_lazy("NIK does not match the sex"),
    "NIK_DISTRICT_UNKNOWN": gettext_lazy("NIK names an unknown district"),
    "NIK_DATE_IMPOSSIBLE": gettext_lazy("NIK holds an impossible date"),
    "KK_DISTRICT_UNKNOWN": gettext_lazy("family card names an unknown district"),
    "NIK_SHARED": gettext_lazy("one NIK on several residents"),
    "NOKA_SHARED": gettext_lazy("one JKN card number on several rows"),
    "CHILD_NIK_SHARED": gettext_lazy("one child NIK on several children"),
    "REASON_UNKNOWN": gettext_lazy("inactive reason not recognised"),
    "DUPLICATE_ROW": gettext_lazy("duplicate row"),
}


def finding_label(code: str) -> str:
    """A register finding in words (an unknown code as plain words, never UPPER_SNAKE)."""
    label = FINDING_LABELS.get(code)
    return str(label) if label else code.replace("_", " ").capitalize()


def region_choices(user: Any | None) -> list[tuple[str, str]]:
    """(code, 'name (level)') of the regions a ranking can be narrowed to: the user's regions,
    the region above each, and what lies under them down to the districts (provinces and
    regencies for national users)."""
    codes = scope_codes(user)
    qs = Region.objects.filter(level__lte=2 if codes is None else 3)
    if codes:
        q = Q(pk__in=[c.rsplit(".", 1)[0] for c in codes if "." in c])
        for c in codes:
            q |= Q(pk=c) | under_q(c)
        qs = qs.filter(q)
    rows = qs.order_by("code").values_list("code", "name", "level")[:1000]
    return [(code, f"{name} ({LEVEL_NAMES[level]})") for code, name, level in rows]

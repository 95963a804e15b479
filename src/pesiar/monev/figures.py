"""Monev: the figures of one region on one date, its children, trend and extremes."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils.translation import gettext as _

from pesiar.accounts.models import Role
from pesiar.coverage.models import Indicator
from pesiar.coverage.services import REASONS, SEGMENTS, Targets, derive
from pesiar.monev.scope import (
    LEVEL_NAMES,
    NATION,
    findings,
    in_scope,
    indicators,
    scope_codes,
)
from pesiar.regions.models import Level, under_q, within_q

# --- figures -------------------------------------------------------------------------------------


@dataclass
class Figures:
    """One region's figures on one date (an Indicator row, or the sum of several)."""

    code: str
    name: str
    level: int
    as_of: date
    population: int = 0
    registered: int = 0
    active: int = 0
    coverage_pct: Decimal = Decimal("0.00")
    active_pct: Decimal = Decimal("0.00")
    to_target_coverage: int = 0
    to_target_active: int = 0
    rank: int | None = None
    rank_of: int | None = None
    uhc_class: str = ""
    segments: dict[str, int] = field(default_factory=dict)
    inactive_reasons: dict[str, int] = field(default_factory=dict)
    unmatched_participants: int = 0
    deceased_listed: int = 0
    parent_code: str | None = None
    parent_name: str = ""
    previous: "Figures | None" = None  # the same region on the previous date
    hidden: bool = False  # a small village's counts and percentages, kept from viewers

    def hide(self) -> None:
        """Keep only the name and the population: a village this small is almost a person."""
        self.hidden = True
        self.registered = self.active = None  # type: ignore[assignment]
        self.coverage_pct = self.active_pct = None  # type: ignore[assignment]
        self.to_target_coverage = self.to_target_active = None  # type: ignore[assignment]
        self.rank = self.rank_of = None
        self.uhc_class = ""
        self.segments, self.inactive_reasons = {}, {}
        self.unmatched_participants = self.deceased_listed = None  # type: ignore[assignment]
        self.previous = None

    def change(self, name: str) -> Decimal | int | None:
        """This figure minus the previous date's (None without a previous date)."""
        if self.previous is None:
            return None
        now, before = getattr(self, name), getattr(self.previous, name)
        if now is None or before is None:
            return None
        return now - before

    @property
    def inactive(self) -> int | None:
        return None if self.hidden else self.registered - self.active

    @property
    def not_registered(self) -> int | None:
        return None if self.hidden else self.population - self.registered

    @property
    def level_name(self) -> str:
        return str(LEVEL_NAMES.get(self.level, ""))

    def metric(self, name: str) -> Decimal:
        return self.coverage_pct if name == "coverage" else self.active_pct

    @classmethod
    def from_indicator(cls, row: Indicator, name: str | None = None) -> "Figures":
        return cls(
            code=row.region_id,
            name=name if name is not None else row.region.name,
            level=row.level,
            as_of=row.as_of,
            population=row.population,
            registered=row.registered,
            active=row.active,
            coverage_pct=row.coverage_pct,
            active_pct=row.active_pct,
            to_target_coverage=row.to_target_coverage,
            to_target_active=row.to_target_active,
            rank=row.rank,
            rank_of=row.rank_of,
            uhc_class=row.uhc_class,
            segments=dict(row.segments or {}),
            inactive_reasons=dict(row.inactive_reasons or {}),
            unmatched_participants=row.unmatched_participants,
            deceased_listed=row.deceased_listed,
        )

    @classmethod
    def from_values(cls, row: dict) -> "Figures":
        """From `indicators(...).values(*VALUE_FIELDS)` (no model instances: cheaper)."""
        return cls(
            code=row["region_id"],
            name=row["region__name"],
            level=row["level"],
            as_of=row["as_of"],
            population=row["population"],
            registered=row["registered"],
            active=row["active"],
            coverage_pct=row["coverage_pct"],
            active_pct=row["active_pct"],
            to_target_coverage=row["to_target_coverage"],
            to_target_active=row["to_target_active"],
            rank=row["rank"],
            rank_of=row["rank_of"],
            uhc_class=row["uhc_class"],
        )

    @classmethod
    def total(cls, code: str, name: str, level: int, as_of: date, parts: Sequence["Figures"]):
        """The sum of `parts` (a region's figures are the sum of its parts')."""
        population = sum(p.population for p in parts)
        registered = sum(p.registered for p in parts)
        active = sum(p.active for p in parts)
        derived = derive(population, registered, active)
        if not population:
            derived["uhc_class"] = ""  # no residents, no class
        return cls(
            code=code,
            name=name,
            level=level,
            as_of=as_of,
            population=population,
            registered=registered,
            active=active,
            **derived,
            segments={s: sum(p.segments.get(s, 0) for p in parts) for s in SEGMENTS},
            inactive_reasons={r: sum(p.inactive_reasons.get(r, 0) for p in parts) for r in REASONS},
            unmatched_participants=sum(p.unmatched_participants for p in parts),
            deceased_listed=sum(p.deceased_listed for p in parts),
        )


VALUE_FIELDS = (
    "region_id",
    "region__name",
    "level",
    "as_of",
    "population",
    "registered",
    "active",
    "coverage_pct",
    "active_pct",
    "to_target_coverage",
    "to_target_active",
    "rank",
    "rank_of",
    "uhc_class",
)


def top_regions(user: Any | None, as_of: date) -> list[Figures]:
    """The regions at the top of the user's view: the provinces for national users, else the
    user's scope regions (those with figures)."""
    codes = scope_codes(user)
    rows = indicators(user).filter(as_of=as_of).select_related("region")
    rows = rows.filter(level=1) if codes is None else rows.filter(region_id__in=codes)
    return [Figures.from_indicator(r) for r in rows.order_by("region_id")]


def region_figures(user: Any | None, code: str, as_of: date) -> Figures | None:
    """Figures of region `code` on `as_of` ('' for the user's whole view), or None."""
    if code == NATION:
        parts = top_regions(user, as_of)
        if not parts:
            return None
        name = _("Indonesia") if scope_codes(user) is None else _("Your regions")
        return Figures.total(NATION, name, 0, as_of, parts)
    row = indicators(user).filter(as_of=as_of, region_id=code).select_related("region").first()
    if row is None:
        return None
    figures = Figures.from_indicator(row)
    hide_small(user, [figures])
    return figures


def children_figures(user: Any | None, code: str, as_of: date) -> list[Figures]:
    """Figures of the children of `code` on `as_of`, ranked (best first)."""
    if code == NATION:
        rows = top_regions(user, as_of)
    else:
        level = len(code.split(".")) + 1
        qs = (
            indicators(user)
            .filter(under_q(code, "region__pk"), as_of=as_of, level=level)
            .select_related("region")
        )
        rows = [Figures.from_indicator(r) for r in qs]
    ranked = sorted(rows, key=lambda f: (-f.active_pct, -f.coverage_pct, f.code))
    hide_small(user, ranked)
    return hidden_last(ranked)


def trend(user: Any | None, code: str, limit: int = 24) -> list[Figures]:
    """The region's figures on every date with indicators (oldest first), at most `limit`."""
    if code == NATION:
        codes = scope_codes(user)
        qs = indicators(user)
        qs = qs.filter(level=1) if codes is None else qs.filter(region_id__in=codes)
        sums = (
            qs.values("as_of")
            .annotate(
                p=Sum("population"), r=Sum("registered"), a=Sum("active"), u=Sum("to_target_active")
            )
            .order_by("-as_of")[:limit]
        )
        targets = Targets.from_settings()
        out = [
            Figures(
                code=NATION,
                name="",
                level=0,
                as_of=s["as_of"],
                population=s["p"],
                registered=s["r"],
                active=s["a"],
                # The nation's trend points carry no UHC class.
                **derive(s["p"], s["r"], s["a"], targets) | {"uhc_class": ""},
            )
            for s in sums
        ]
    else:
        qs = indicators(user).filter(region_id=code).select_related("region")
        out = [Figures.from_indicator(r) for r in qs.order_by("-as_of")[:limit]]
        hide_small(user, out)
    return out[::-1]


def extreme_villages(
    user: Any | None, code: str, as_of: date, n: int = 5
) -> tuple[list[Figures], list[Figures]]:
    """The `n` lowest and `n` highest villages under `code` by active %, then coverage %
    (villages of at least SMALL_COUNT residents, with their district's name; none on a
    peer's dashboard, whose villages the user does not see)."""
    if (code and code.count(".") == 3) or not in_scope(user, code):
        return [], []
    qs = (
        indicators(user)
        .filter(as_of=as_of, level=Level.VILLAGE, population__gte=max(1, small_count()))
        .filter(under_q(code, "region__pk"))
        .select_related("region__parent")
    )
    low_first = qs.order_by("active_pct", "coverage_pct", "region_id")
    high_first = qs.order_by("-active_pct", "-coverage_pct", "region_id")
    out = []
    for rows in (low_first[:n], high_first[:n]):
        villages = []
        for row in rows:
            figures = Figures.from_indicator(row)
            figures.parent_name = row.region.parent.name if row.region.parent_id else ""
            villages.append(figures)
        out.append(villages)
    return out[0], out[1]


def small_count() -> int:
    """Villages with fewer residents: no percentages for viewers, not in the extremes."""
    return int(settings.PESIAR.get("MONEV", {}).get("SMALL_COUNT", 20))


def hides_small(user: Any | None) -> bool:
    """Viewers (aggregates only) see no figures of villages under `small_count()` residents."""
    return getattr(user, "role", None) == Role.VIEWER


def hide_small(user: Any | None, rows: Sequence[Figures]) -> int:
    """Hide the figures of the small villages among `rows` from a viewer; how many."""
    if not hides_small(user):
        return 0
    size = small_count()
    small = [f for f in rows if f.level == Level.VILLAGE and not f.hidden and f.population < size]
    for figures in small:
        figures.hide()
    return len(small)


def hidden_last(rows: list[Figures]) -> list[Figures]:
    """A ranked list with the hidden villages after the others, by name (their place in the
    ranking would tell what is hidden)."""
    return [f for f in rows if not f.hidden] + sorted(
        (f for f in rows if f.hidden), key=lambda f: (f.name, f.code)
    )


@dataclass
class FindingCount:
    code: str
    severity: str
    rows: int


def finding_counts(user: Any | None, code: str, as_of: date) -> list[FindingCount]:
    """Data-quality findings of the registers current on `as_of`, inside `code`, by reason."""
    from pesiar.registers.models import Snapshot

    latest: dict[str, int] = {}
    for kind, pk in (
        Snapshot.objects.current()
        .filter(as_of__lte=as_of)
        .order_by("kind", "-as_of", "-id")
        .values_list("kind", "id")
    ):
        latest.setdefault(kind, pk)
    if not latest:
        return []
    qs = findings(user).filter(snapshot_id__in=latest.values())
    if code:
        qs = qs.filter(within_q(code, "village_code"))
    rows = qs.values("code", "severity").annotate(n=Sum("rows")).order_by("-n", "code")
    return [FindingCount(r["code"], r["severity"], r["n"]) for r in rows]

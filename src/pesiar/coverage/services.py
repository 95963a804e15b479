"""UHC-Desa indicators from the residents' statuses, for every village and the regions above.

Definitions (REGISTERS.md): population = living residents counted once per NIK; registered =
those linked to a JKN participant; active = those whose participant is active;
coverage_pct = 100 x registered / population, active_pct = 100 x active / population (stored
rounded half-up to two decimals); to_target = max(0, ceil(target x population) - count).
A region's figures are the sum of its villages'; ranks are within the parent region.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TypedDict

import duckdb
from django.conf import settings
from django.db import transaction

from pesiar.coverage.churn import changes_after_map
from pesiar.coverage.models import Indicator
from pesiar.regions.codes import CODE_LENGTH
from pesiar.regions.models import Region
from pesiar.registers.vocabulary import REASONS, SEGMENTS


@dataclass(frozen=True)
class Targets:
    coverage_pct: Decimal
    active_pct: Decimal
    # (minimum coverage %, class), highest first; the first a region reaches is its class.
    uhc_classes: tuple[tuple[Decimal, str], ...]

    @classmethod
    def from_settings(cls) -> "Targets":
        conf = settings.PESIAR
        return cls(
            Decimal(str(conf["TARGET_COVERAGE_PCT"])),
            Decimal(str(conf["TARGET_ACTIVE_PCT"])),
            tuple((Decimal(str(t)), name) for t, name in conf["UHC_CLASSES"]),
        )

    def uhc_class(self, coverage_pct: Decimal) -> str:
        for threshold, name in self.uhc_classes:
            if coverage_pct >= threshold:
                return name
        return self.uhc_classes[-1][1]


def pct(count: int, population: int) -> Decimal:
    """100 x count / population, rounded half-up to two decimals (exact, no float)."""
    if not population:
        return Decimal("0.00")
    return (Decimal(100 * count) / Decimal(population)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def to_target(target_pct: Decimal, population: int, count: int) -> int:
    """max(0, ceil(target% x population) - count), in exact arithmetic."""
    needed = (target_pct * population / 100).to_integral_value(rounding="ROUND_CEILING")
    return max(0, int(needed) - count)


class Derived(TypedDict):
    """The figures that follow from a region's counts (see `derive`)."""

    coverage_pct: Decimal
    active_pct: Decimal
    to_target_coverage: int
    to_target_active: int
    uhc_class: str


def derive(
    population: int, registered: int, active: int, targets: Targets | None = None
) -> Derived:
    """The shares, the distance to the targets and the UHC class of a region's counts: the one
    formula for a stored indicator and for a sum of regions' figures alike."""
    targets = targets or Targets.from_settings()
    coverage = pct(registered, population)
    return Derived(
        coverage_pct=coverage,
        active_pct=pct(active, population),
        to_target_coverage=to_target(targets.coverage_pct, population, registered),
        to_target_active=to_target(targets.active_pct, population, active),
        uhc_class=targets.uhc_class(coverage),
    )


def indicator_table(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Figures per region (every level), from tables `persons` (village_code, status,
    segment, reason) and `participant_findings` (village_code, unmatched, deceased_listed).

    Rows: (code, level, population, registered, active, segments{}, reasons{}, unmatched,
    deceased_listed, rank, rank_of), ranked by active share then coverage share among the
    children of the same parent.
    """
    segment_cols = ", ".join(
        f"count(*) FILTER (WHERE segment = '{s}') AS seg_{s}" for s in SEGMENTS
    )
    reason_cols = ", ".join(
        f"count(*) FILTER (WHERE status = 'INACTIVE' AND reason = '{r}') AS why_{r}"
        for r in REASONS
    )
    levels = " UNION ALL ".join(
        f"SELECT substr(village_code, 1, {n}) AS code, {level} AS level, * EXCLUDE (village_code) "
        "FROM villages"
        for level, n in CODE_LENGTH.items()
    )
    sums = ", ".join(
        f"sum({c}) AS {c}"
        for c in (
            ["population", "registered", "active", "unmatched", "deceased_listed"]
            + [f"seg_{s}" for s in SEGMENTS]
            + [f"why_{r}" for r in REASONS]
        )
    )
    return con.execute(
        f"""
        WITH people AS (
            SELECT village_code, count(*) AS population,
                   count(*) FILTER (WHERE status <> 'NOT_REGISTERED') AS registered,
                   count(*) FILTER (WHERE status = 'ACTIVE') AS active,
                   {segment_cols}, {reason_cols}
            FROM persons GROUP BY village_code
        ), villages AS (
            SELECT coalesce(p.village_code, f.village_code) AS village_code,
                   coalesce(population, 0) AS population,
                   coalesce(registered, 0) AS registered, coalesce(active, 0) AS active,
                   coalesce(f.unmatched, 0) AS unmatched,
                   coalesce(f.deceased_listed, 0) AS deceased_listed,
                   {", ".join(f"coalesce(seg_{s}, 0) AS seg_{s}" for s in SEGMENTS)},
                   {", ".join(f"coalesce(why_{r}, 0) AS why_{r}" for r in REASONS)}
            FROM people p FULL JOIN participant_findings f ON p.village_code = f.village_code
        ), regions AS (
            SELECT code, level, {sums} FROM ({levels}) GROUP BY code, level
        )
        SELECT *,
               CASE WHEN population > 0 THEN rank() OVER (
                   PARTITION BY level, CASE WHEN level > 1 THEN
                       substr(code, 1, length(code) - CASE level WHEN 4 THEN 5 ELSE 3 END) END,
                       population > 0
                   ORDER BY active / population DESC, registered / population DESC) END AS rank,
               count(*) FILTER (WHERE population > 0) OVER (
                   PARTITION BY level, CASE WHEN level > 1 THEN
                       substr(code, 1, length(code) - CASE level WHEN 4 THEN 5 ELSE 3 END) END
               ) AS rank_of
        FROM regions ORDER BY code
        """
    ).fetchall()


def store_indicators(run, as_of: date, rows: list[tuple], columns: list[str]) -> int:
    """Replace the indicators of `as_of` with these rows (see indicator_table), in one
    transaction, and the churn radar's changes of `run` against the map before it. Regions
    missing from the region tree are skipped (their codes are counted in the run's
    figures)."""
    targets = Targets.from_settings()
    known = set(Region.objects.filter(code__in=[r[0] for r in rows]).values_list("code", flat=True))
    objects = []
    for row in rows:
        data = dict(zip(columns, row, strict=True))
        if data["code"] not in known:
            continue
        population, registered, active = data["population"], data["registered"], data["active"]
        objects.append(
            Indicator(
                as_of=as_of,
                region_id=data["code"],
                level=data["level"],
                run=run,
                population=population,
                registered=registered,
                active=active,
                **derive(population, registered, active, targets),
                rank=data["rank"],
                rank_of=data["rank_of"] if data["rank"] is not None else None,
                segments={s: data[f"seg_{s}"] for s in SEGMENTS},
                inactive_reasons={r: data[f"why_{r}"] for r in REASONS},
                unmatched_participants=data["unmatched"],
                deceased_listed=data["deceased_listed"],
            )
        )
    with transaction.atomic():
        Indicator.objects.unscoped(reason="replacing one date's indicators").filter(
            as_of=as_of
        ).delete()
        Indicator.objects.bulk_create(objects, batch_size=2000)
        changes_after_map(run)
    return len(objects)

"""Did the campaign work? A difference-in-differences estimate against matched villages.

The rule, in one sentence (the page says it too): each focus village's change in coverage (or
activity) since the campaign began is compared with the change in the most similar villages of
the same regency that are not in the campaign, and the average difference is the campaign's
estimated effect.

- Baseline: the latest village figures on or before the campaign's start; after: the latest
  figures on or before the date asked for (and after the start).
- Matching: every village of the campaign's region with figures on both dates and not in the
  campaign is a candidate; each focus village takes the `MATCHES` nearest on baseline coverage %,
  active %, size (log of population) and segment mix (PBI share and self-paying share of the
  registered), each standardised over the candidates.
- Effect of a focus village = its change minus the mean change of its matches (in points);
  the estimate is their mean, and "about N more people" is the sum over focus villages of the
  effect times the village's population.
- Interval (95%): placebo villages. Each candidate is treated as if it were in the campaign
  and compared with its own matches among the other candidates; the spread of these placebo
  effects is what the estimate would show with no campaign at all. Its standard deviation over
  the square root of the number of focus villages gives the standard error.
- Warnings: fewer than `MIN_FOCUS` focus villages with figures, fewer than `MIN_CANDIDATES`
  comparison villages, or no figures after the start make the estimate unreliable or missing.
- Pre-trend: with figures on a date before the baseline, the same comparison over that earlier
  period should show nothing (the campaign had not begun); when its own interval excludes zero,
  the focus villages were already moving differently and a warning says the estimate may be
  biased.
"""

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.utils.translation import gettext as _

from pesiar.coverage.models import Indicator
from pesiar.regions.models import Level, under_q

MATCHES = 5
MIN_FOCUS = 3
MIN_CANDIDATES = 20
Z95 = 1.96
UNSCOPED = "campaign effect: village aggregates of the campaign's region, no personal data"


@dataclass
class VillageEffect:
    code: str
    name: str
    population: int
    before_pct: float
    after_pct: float
    change: float  # points
    expected_change: float  # mean change of the matched villages
    effect: float  # points
    matches: list[str]


@dataclass
class Estimate:
    measure: str  # "coverage" or "active"
    baseline: date | None
    after: date | None
    effect_points: float | None = None
    low: float | None = None
    high: float | None = None
    people: int | None = None
    villages: list[VillageEffect] = field(default_factory=list)
    candidates: int = 0
    pre_trend: float | None = None  # the same comparison over the period before the start
    warnings: list[str] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.effect_points is not None

    @property
    def significant(self) -> bool:
        return self.available and (self.low > 0 or self.high < 0)


def _figures(region_code: str, as_of: date) -> dict[str, dict]:
    rows = (
        Indicator.objects.unscoped(reason=UNSCOPED)
        .filter(under_q(region_code, "region__pk"), as_of=as_of, level=Level.VILLAGE)
        .filter(population__gt=0)
        .select_related("region")
    )
    return {
        r.region_id: {
            "name": r.region.name,
            "population": r.population,
            "registered": r.registered,
            "active": r.active,
            "segments": r.segments or {},
        }
        for r in rows
    }


def _dates(region_code: str, start: date, as_of: date | None) -> tuple[date | None, ...]:
    """The baseline, the date after, and the date before the baseline (for the pre-trend)."""
    dates = sorted(
        set(
            Indicator.objects.unscoped(reason=UNSCOPED)
            .filter(under_q(region_code, "region__pk"), level=Level.VILLAGE)
            .values_list("as_of", flat=True)
        )
    )
    before = [d for d in dates if d <= start]
    after = [d for d in dates if d > start and (as_of is None or d <= as_of)]
    return (
        before[-1] if before else None,
        after[-1] if after else None,
        before[-2] if len(before) > 1 else None,
    )


def _features(row: dict) -> list[float]:
    pop, reg = row["population"], max(row["registered"], 1)
    seg = row["segments"]
    pbi = (seg.get("PBI_APBN", 0) + seg.get("PBI_APBD", 0)) / reg
    return [
        row["registered"] / pop,
        row["active"] / pop,
        math.log(pop),
        pbi,
        seg.get("PBPU", 0) / reg,
    ]


def _pct(row: dict, measure: str) -> float:
    return 100 * row["registered" if measure == "coverage" else "active"] / row["population"]


def nearest(features: np.ndarray, target: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` rows of `features` nearest to `target` (ties by index)."""
    distance = ((features - target) ** 2).sum(axis=1)
    return np.argsort(distance, kind="stable")[:k]


def _did(before_rows: dict, after_rows: dict, focus_codes: list[str], measure: str):
    """The matched difference-in-differences between two dates: (village effects, estimate,
    standard error, comparison villages), or None when there are too few villages."""
    both = sorted(set(before_rows) & set(after_rows))
    focus = [c for c in both if c in set(focus_codes)]
    pool = [c for c in both if c not in set(focus_codes)]
    if not focus or len(pool) < MATCHES + 1:
        return None
    raw = np.array([_features(before_rows[c]) for c in pool])
    mean, sd = raw.mean(axis=0), raw.std(axis=0)
    sd[sd == 0] = 1.0
    pool_x = (raw - mean) / sd
    pool_change = np.array(
        [_pct(after_rows[c], measure) - _pct(before_rows[c], measure) for c in pool]
    )
    villages = []
    for code in focus:
        x = (np.array(_features(before_rows[code])) - mean) / sd
        picked = nearest(pool_x, x, MATCHES)
        before, now = _pct(before_rows[code], measure), _pct(after_rows[code], measure)
        expected = float(pool_change[picked].mean())
        villages.append(
            VillageEffect(
                code=code,
                name=after_rows[code]["name"],
                population=after_rows[code]["population"],
                before_pct=before,
                after_pct=now,
                change=now - before,
                expected_change=expected,
                effect=now - before - expected,
                matches=[pool[i] for i in picked],
            )
        )
    placebo = []
    for j in range(len(pool)):
        others = np.delete(np.arange(len(pool)), j)
        picked = others[nearest(pool_x[others], pool_x[j], MATCHES)]
        placebo.append(pool_change[j] - pool_change[picked].mean())
    se = float(np.std(placebo, ddof=1)) / math.sqrt(len(villages))
    return villages, float(np.mean([v.effect for v in villages])), se, len(pool)


def estimate(
    region_code: str,
    start: date,
    focus_codes: list[str],
    *,
    measure: str = "coverage",
    as_of: date | None = None,
) -> Estimate:
    """The campaign's effect on `measure` in the focus villages (see the module docstring)."""
    baseline, after, earlier = _dates(region_code, start, as_of)
    result = Estimate(measure=measure, baseline=baseline, after=after)
    if baseline is None or after is None:
        result.warnings.append(
            _("There are no village figures from before and after the campaign's start yet.")
        )
        return result
    base_rows = _figures(region_code, baseline)
    did = _did(base_rows, _figures(region_code, after), focus_codes, measure)
    if did is None:
        result.warnings.append(
            _("Too few villages have figures on both dates to compare the focus villages.")
        )
        return result
    result.villages, effect, se, result.candidates = did
    result.effect_points = effect
    result.low, result.high = effect - Z95 * se, effect + Z95 * se
    result.people = round(sum(v.effect * v.population / 100 for v in result.villages))
    if len(result.villages) < MIN_FOCUS:
        result.warnings.append(
            _("Only %(n)s focus villages have figures: the estimate is unreliable.")
            % {"n": len(result.villages)}
        )
    if result.candidates < MIN_CANDIDATES:
        result.warnings.append(
            _("Only %(n)s villages are available for comparison: the estimate is unreliable.")
            % {"n": result.candidates}
        )
    if earlier is not None:  # parallel trends: before the start, no difference is expected
        pre = _did(_figures(region_code, earlier), base_rows, focus_codes, measure)
        if pre is not None:
            result.pre_trend = pre[1]
            if abs(pre[1]) > Z95 * pre[2]:
                result.warnings.append(
                    _(
                        "Before the campaign the focus villages already changed differently "
                        "from their matches (%(points)s points): the estimate may be biased."
                    )
                    % {"points": f"{pre[1]:.1f}"}
                )
    return result


def for_campaign(campaign, *, measure: str = "coverage", as_of: date | None = None) -> Estimate:
    """`estimate` for a campaign's region, start and focus villages."""
    from pesiar.campaigns.services import focus_villages

    codes = [f.village_id for f in focus_villages(campaign)]
    return estimate(campaign.region_id, campaign.start, codes, measure=measure, as_of=as_of)

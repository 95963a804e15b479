"""Campaigns: making them, choosing focus villages by code, and their path to target.

Focus villages are always chosen by code: a name can belong to several villages (OKU Selatan
has three Tanjung Sari), so a search by name lists every match with its district and code.
"""

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from pesiar.accounts.models import Office, Role, User
from pesiar.accounts.scoping import get_scope
from pesiar.campaigns.models import Campaign, FocusVillage, TargetKind
from pesiar.coverage.models import Indicator
from pesiar.field.models import RegistrationRequest
from pesiar.regions.models import Level, Region, is_within, under_q

UNSCOPED = "campaign progress: village aggregates of a campaign the user sees"
MANAGING_ROLES = (Role.ADMIN, Role.PROVINCE, Role.REGENCY, Role.BRANCH)
OFFICE_CHOICES = [*Office.choices, ("bpjs", _("BPJS Kesehatan branch"))]


def can_manage(user: User, region_code: str) -> bool:
    """Officers (Pemda, BPJS branch, province, national) manage campaigns inside their scope."""
    return user.role in MANAGING_ROLES and get_scope(user).contains(region_code)


def campaigns_for(user: User):
    return Campaign.objects.for_user(user).select_related("region")


def get_campaign(user: User, pk: int) -> Campaign:
    campaign = campaigns_for(user).filter(pk=pk).first()
    if campaign is None:
        raise PermissionDenied(_("No such campaign in your region scope."))
    return campaign


def create_campaign(
    user: User, *, name: str, region_code: str, start: date, end: date, offices: list[str]
) -> Campaign:
    region = Region.objects.filter(code=region_code).first()
    if region is None or region.level not in (Level.PROVINCE, Level.REGENCY):
        raise ValidationError(_("A campaign belongs to a regency or a province."))
    if not can_manage(user, region.code):
        raise PermissionDenied(_("This region is outside your region scope."))
    if end < start:
        raise ValidationError(_("The campaign ends before it starts."))
    known = {code for code, _label in OFFICE_CHOICES}
    return Campaign.objects.create(
        name=name.strip() or region.name,
        region=region,
        start=start,
        end=end,
        offices=[o for o in offices if o in known],
        created_by=user,
    )


def search_villages(campaign: Campaign, query: str, limit: int = 50) -> list[Region]:
    """Villages of the campaign's region whose name or code matches `query`, with their
    district (`village.parent`), ordered by district and code."""
    query = query.strip()
    if len(query) < 2:
        return []
    return list(
        Region.objects.filter(under_q(campaign.region_id), level=Level.VILLAGE)
        .filter(Q(name__icontains=query) | Q(code__startswith=query))
        .select_related("parent")
        .order_by("parent__name", "code")[:limit]
    )


def add_focus_village(
    user: User, campaign: Campaign, code: str, kind: str, value: Decimal
) -> FocusVillage:
    if not can_manage(user, campaign.region_id):
        raise PermissionDenied(_("This campaign is outside your region scope."))
    village = Region.objects.filter(code=code, level=Level.VILLAGE).first()
    if village is None or not is_within(code, campaign.region_id):
        raise ValidationError(
            _("%(code)s is not a village of %(region)s.")
            % {"code": code, "region": campaign.region.name}
        )
    if kind not in TargetKind.values:
        raise ValidationError(_("Choose the kind of target."))
    if value <= 0 or (kind != TargetKind.PEOPLE and value > 100):
        raise ValidationError(_("A percentage target lies between 0 and 100."))
    focus, _created = FocusVillage.objects.unscoped(reason=UNSCOPED).update_or_create(
        campaign=campaign, village=village, defaults={"target_kind": kind, "target_value": value}
    )
    return focus


def remove_focus_village(user: User, campaign: Campaign, code: str) -> None:
    if not can_manage(user, campaign.region_id):
        raise PermissionDenied(_("This campaign is outside your region scope."))
    FocusVillage.objects.unscoped(reason=UNSCOPED).filter(
        campaign=campaign, village_id=code
    ).delete()


def focus_villages(campaign: Campaign) -> list[FocusVillage]:
    return list(
        FocusVillage.objects.unscoped(reason=UNSCOPED)
        .filter(campaign=campaign)
        .select_related("village", "village__parent")
        .order_by("village__parent__name", "village__code")
    )


@dataclass
class VillageProgress:
    focus: FocusVillage
    series: list[dict]  # {as_of, population, registered, active, coverage_pct, active_pct}
    current: float | None = None  # the figure the target is about, now
    baseline: float | None = None
    gap_people: int | None = None
    per_week: int | None = None
    on_track: bool | None = None
    weeks: list[dict] = field(default_factory=list)  # {week, expected, actual, submitted}


def _figure(kind: str, row: dict, base: dict) -> float:
    if kind == TargetKind.COVERAGE:
        return 100 * row["registered"] / row["population"]
    if kind == TargetKind.ACTIVE:
        return 100 * row["active"] / row["population"]
    return float(row["registered"] - base["registered"])


def _gap(kind: str, target: Decimal, row: dict, base: dict) -> int:
    if kind == TargetKind.COVERAGE:
        return max(0, math.ceil(float(target) * row["population"] / 100) - row["registered"])
    if kind == TargetKind.ACTIVE:
        return max(0, math.ceil(float(target) * row["population"] / 100) - row["active"])
    return max(0, int(target) - (row["registered"] - base["registered"]))


def progress(campaign: Campaign, as_of: date | None = None) -> list[VillageProgress]:
    """Each focus village against its target: figures on every date from the last one before
    the start, the people still missing, how many a week that needs until the end, and week
    by week the straight path from the baseline to the target next to what happened."""
    villages = focus_villages(campaign)
    codes = [f.village_id for f in villages]
    rows = (
        Indicator.objects.unscoped(reason=UNSCOPED)
        .filter(region_id__in=codes, population__gt=0)
        .order_by("as_of")
        .values("region_id", "as_of", "population", "registered", "active")
    )
    if as_of:
        rows = rows.filter(as_of__lte=as_of)
    by_village: dict[str, list[dict]] = {}
    for row in rows:
        by_village.setdefault(row["region_id"], []).append(row)
    submitted = _weekly_submissions(campaign, codes)
    out = []
    for focus in villages:
        series = by_village.get(focus.village_id, [])
        before = [r for r in series if r["as_of"] <= campaign.start]
        series = ([before[-1]] if before else []) + [
            r for r in series if r["as_of"] > campaign.start
        ]
        p = VillageProgress(focus=focus, series=series)
        for r in series:
            r["coverage_pct"] = 100 * r["registered"] / r["population"]
            r["active_pct"] = 100 * r["active"] / r["population"]
        if series:
            base, last = series[0], series[-1]
            p.baseline = _figure(focus.target_kind, base, base)
            p.current = _figure(focus.target_kind, last, base)
            p.gap_people = _gap(focus.target_kind, focus.target_value, last, base)
            weeks_left = max(1, math.ceil((campaign.end - last["as_of"]).days / 7))
            p.per_week = math.ceil(p.gap_people / weeks_left)
            p.weeks = _weeks(campaign, p, series, submitted.get(focus.village_id, {}))
            expected_now = _expected(campaign, p, last["as_of"])
            p.on_track = p.current >= expected_now - 1e-9
        out.append(p)
    return out


def _expected(campaign: Campaign, p: VillageProgress, day: date) -> float:
    """The straight path from the baseline (at the start) to the target (at the end)."""
    total = max(1, (campaign.end - campaign.start).days)
    share = min(1.0, max(0.0, (day - campaign.start).days / total))
    return p.baseline + share * (float(p.focus.target_value) - p.baseline)


def _weeks(campaign, p, series, submitted) -> list[dict]:
    weeks = []
    day = campaign.start
    while day <= campaign.end:
        week_end = day + timedelta(days=6)
        actual = [r for r in series if day <= r["as_of"] <= week_end]
        weeks.append(
            {
                "week": day,
                "expected": _expected(campaign, p, week_end),
                "actual": _figure(p.focus.target_kind, actual[-1], series[0]) if actual else None,
                "submitted": submitted.get(day, 0),
            }
        )
        day = week_end + timedelta(days=1)
    return weeks


def _weekly_submissions(campaign: Campaign, codes: list[str]) -> dict[str, dict[date, int]]:
    """Registrations agents submitted per village and campaign week (counts only)."""
    out: dict[str, dict[date, int]] = {}
    requests = RegistrationRequest.objects.unscoped(reason=UNSCOPED).filter(
        village_id__in=codes, submitted_at__isnull=False
    )
    for village, submitted_at in requests.values_list("village_id", "submitted_at"):
        day = submitted_at.date()
        if not campaign.start <= day <= campaign.end:
            continue
        week = campaign.start + timedelta(days=7 * ((day - campaign.start).days // 7))
        out.setdefault(village, {}).setdefault(week, 0)
        out[village][week] += 1
    return out

"""The campaigns section of a region's report: what Monev shows for the campaigns in a region.

`section(user, code, as_of)` returns one entry per campaign the user sees whose region lies
inside `code` or contains it: the campaign, its focus villages' progress, and the effect
estimates on coverage and on activity. `user` None is the command line's report (no scope).
`campaigns/_report_section.html` renders it (for a page or WeasyPrint); aggregates only, no
personal data.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q

from pesiar.campaigns import effect, services
from pesiar.campaigns.models import Campaign
from pesiar.regions.models import is_within

NO_USER = "the report of a region from the command line, without a user: aggregates only"


@dataclass
class CampaignSection:
    campaign: Campaign
    progress: list[services.VillageProgress]
    coverage: effect.Estimate
    active: effect.Estimate

    @property
    def on_track(self) -> int:
        return sum(1 for p in self.progress if p.on_track)


def section(user: Any, code: str, as_of: date | None = None) -> list[CampaignSection]:
    """The campaigns in or above region `code` that `user` sees, with progress and effect."""
    out = []
    if user is None:  # the report command run without a user (as Monev's report allows)
        campaigns = Campaign.objects.unscoped(reason=NO_USER).select_related("region")
    else:
        campaigns = services.campaigns_for(user)
    campaigns = campaigns.filter(Q(start__lte=as_of) if as_of else Q())
    for campaign in campaigns:
        if code and not (
            is_within(campaign.region_id, code) or is_within(code, campaign.region_id)
        ):
            continue
        out.append(
            CampaignSection(
                campaign=campaign,
                progress=services.progress(campaign, as_of),
                coverage=effect.for_campaign(campaign, measure="coverage", as_of=as_of),
                active=effect.for_campaign(campaign, measure="active", as_of=as_of),
            )
        )
    return out

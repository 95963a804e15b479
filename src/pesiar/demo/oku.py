"""The OKU Selatan scenario in the database: its registers imported and mapped month by month,
the launch campaign on the five focus villages, its agents (recommended by the Pemda, assigned
by the BPJS branch) and the registrations they submitted (from the generator's truth)."""

import csv
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from pesiar.accounts.models import Role, User
from pesiar.accounts.services import ensure_user
from pesiar.campaigns import agents
from pesiar.campaigns.models import Campaign, FocusVillage, TargetKind
from pesiar.demo.generator.oku import CAMPAIGN_NAME, FOCUS_VILLAGES, REGENCY, OkuScenario
from pesiar.field.models import RegistrationPerson, RegistrationRequest, RequestStatus, Segment
from pesiar.regions.models import Region
from pesiar.regions.services import load_regions

PEMDA_USER = "oku-dinkes"
BRANCH_USER = "bpjs-oku"
TARGET_COVERAGE = Decimal("95")
SETUP = "demo set-up of the OKU Selatan scenario"
# The five agents the Pemda recommends (invented people), one per focus village.
AGENT_NAMES = ("Rina Marlina", "Dedi Saputra", "Yuliani", "Ahmad Fauzi", "Sri Wahyuni")
AGENT_USERS = tuple(f"agen-{i + 1}" for i in range(len(FOCUS_VILLAGES)))
LOGINS = (PEMDA_USER, BRANCH_USER, *AGENT_USERS)  # the campaign's people (`set_passwords`)


def ensure_regency() -> None:
    if not Region.objects.filter(code=REGENCY).exists():
        load_regions(within=REGENCY)


def ensure_officers() -> tuple[User, User]:
    """The Pemda's and the branch's officers (without a password: `set_passwords`)."""
    pemda = ensure_user(PEMDA_USER, role=Role.REGENCY, scopes=(REGENCY,), password=None,
                        office="dinkes")  # fmt: skip
    branch = ensure_user(BRANCH_USER, role=Role.BRANCH, scopes=(REGENCY,), password=None)
    return pemda, branch


def install_campaign(scenario: OkuScenario) -> Campaign:
    """The launch campaign, its focus villages and agents, and the agents' registrations (as
    exported requests, for the next membership import to confirm). Run before importing the
    dates after the campaign's start. Idempotent on the campaign's name."""
    ensure_regency()
    pemda, branch = ensure_officers()
    existing = Campaign.objects.unscoped(reason=SETUP).filter(name=CAMPAIGN_NAME).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=CAMPAIGN_NAME,
            region_id=REGENCY,
            start=scenario.campaign_start,
            end=date(scenario.dates[-1].year, 12, 31),
            offices=["sekda", "dinkes", "dinsos", "pmd", "bpjs"],
            created_by=pemda,
        )
        for code in FOCUS_VILLAGES:
            FocusVillage.objects.create(
                campaign=campaign, village_id=code, target_kind=TargetKind.COVERAGE,
                target_value=TARGET_COVERAGE,
            )  # fmt: skip
        for i, code in enumerate(FOCUS_VILLAGES):
            assignment = agents.recommend(
                pemda, regency_code=REGENCY, village_codes=[code],
                name=AGENT_NAMES[i], campaign=campaign,
            )  # fmt: skip
            agents.approve(branch, assignment.pk, username=AGENT_USERS[i])
        load_agent_registrations(scenario)
    return campaign


def load_agent_registrations(scenario: OkuScenario) -> int:
    """The agents' submitted registrations from the truth, as exported requests."""
    path = scenario.truth_path("agent_registrations")
    users = {u.username: u for u in User.objects.filter(username__in=AGENT_USERS)}
    tz = timezone.get_current_timezone()
    count = 0
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            submitted = datetime.combine(date.fromisoformat(row["submitted_on"]), time(10), tz)
            request, made = RegistrationRequest.objects.unscoped(reason=SETUP).get_or_create(
                client_id=f"oku-{row['kk']}",
                defaults={
                    "village_id": row["village_code"],
                    "kk": row["kk"],
                    "segment": Segment.PBPU,
                    "faskes_code": "0001",
                    "status": RequestStatus.EXPORTED,
                    "agent": users[row["agent"]],
                    "submitted_at": submitted,
                    "exported_at": submitted,
                },
            )
            if made:
                RegistrationPerson.objects.bulk_create(
                    RegistrationPerson(request=request, nik=nik, name="")
                    for nik in row["niks"].split(";")
                )
                count += 1
    return count


def set_passwords(password: str) -> None:
    """The campaign's officers and agents log in with `password` (the demo's)."""
    for user in User.objects.filter(username__in=LOGINS):
        user.set_password(password)
        user.save()


def import_dates(
    scenario: OkuScenario,
    one: Callable[[str, Path, date], None],
    say: Callable[[str], None] | None = None,
    *,
    with_campaign: bool = True,
    after_date: Callable[[date], None] | None = None,
) -> Campaign | None:
    """Import every date of the scenario with `one(kind, path, as_of)`, the campaign in place
    before the dates its agents' registrations are confirmed by; `after_date` runs after
    each date's imports (the map, when dates are mapped one by one)."""
    say = say or (lambda _message: None)
    ensure_regency()
    campaign = None
    for as_of in scenario.dates:
        if with_campaign and as_of > scenario.campaign_start and campaign is None:
            campaign = install_campaign(scenario)
            say(f"campaign: {campaign.name} on {len(FOCUS_VILLAGES)} focus villages")
        for kind in ("population", "membership"):
            one(kind, scenario.path(kind, as_of), as_of)
        if after_date is not None:
            after_date(as_of)
    if with_campaign and campaign is None:
        campaign = install_campaign(scenario)
    return campaign


def load(
    scenario: OkuScenario, say: Callable[[str], None] | None = None, *, with_campaign: bool = True
) -> Campaign | None:
    """Import and map every date of the scenario, date by date."""
    from pesiar.linkage.pipeline import run_map
    from pesiar.registers.services import import_register

    say = say or (lambda _message: None)

    def one(kind: str, path: Path, as_of: date) -> None:
        result = import_register(kind, path, as_of, replace=True, scope=REGENCY)
        say(f"{as_of} {kind}: {result.accepted:,} rows")

    def mapped(as_of: date) -> None:
        run_map(as_of)
        say(f"{as_of} map done")

    return import_dates(scenario, one, say, with_campaign=with_campaign, after_date=mapped)

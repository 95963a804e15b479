"""Agents as the programme runs them: a Pemda office recommends, the BPJS branch approves and
assigns; monthly figures against targets; the monthly statement of confirmed outcomes.

Who may do what:
- recommend: a regency officer (Pemda) who belongs to an office, for villages of a regency in
  their scope;
- approve and assign, or decline: a BPJS branch officer whose scope holds the regency;
- nobody else (not the national administrator, not a province officer, not an agent).
Both steps keep who and when. Assigning gives the agent's account the villages as its scopes.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from pesiar.accounts.models import Role, Scope, User
from pesiar.accounts.scoping import forget_scope, get_scope
from pesiar.accounts.viewer import Viewer
from pesiar.campaigns.models import AgentAssignment, AssignmentStatus
from pesiar.field.models import RegistrationPerson, RegistrationRequest, RequestStatus
from pesiar.field.services import agent_kpis
from pesiar.regions.models import Level, Region, is_within
from pesiar.registers.models import Snapshot

# Monthly targets per agent. About 5 families a day over 22 working days; the rest follow the
# programme's benchmark of 500 families per agent over a campaign of some months.
DEFAULT_MONTHLY_TARGETS = {
    "families_visited": 110,
    "registrations_submitted": 20,
    "confirmed": 15,
    "activated": 10,
    "attendance": 60,
}
UNSCOPED = "agent statement: requests of one agent, shown to users whose scope holds them"


def monthly_targets() -> dict[str, int]:
    """The monthly targets per agent (PESIAR["AGENT_MONTHLY_TARGETS"] overrides the default)."""
    return {**DEFAULT_MONTHLY_TARGETS, **settings.PESIAR.get("AGENT_MONTHLY_TARGETS", {})}


def _villages(codes: list[str], regency: Region) -> list[Region]:
    villages = list(Region.objects.filter(code__in=codes, level=Level.VILLAGE))
    if not codes or len(villages) != len(set(codes)):
        raise ValidationError(_("Choose villages by their code."))
    outside = [v.code for v in villages if not is_within(v.code, regency.code)]
    if outside:
        raise ValidationError(
            _("These villages are not in %(regency)s: %(codes)s")
            % {"regency": regency.name, "codes": ", ".join(outside)}
        )
    return villages


def can_recommend(user: User) -> bool:
    return user.is_authenticated and user.role == Role.REGENCY and bool(user.office)


def can_decide(user: User) -> bool:
    return user.is_authenticated and user.role == Role.BRANCH


def recommend(
    user: User, *, regency_code: str, village_codes: list[str], name: str, phone: str = "",
    campaign=None,
) -> AgentAssignment:  # fmt: skip
    """A Pemda office recommends `name` as Agen Pesiar for the villages."""
    if not can_recommend(user):
        raise PermissionDenied(_("Only a Pemda office of the regency recommends agents."))
    regency = Region.objects.filter(code=regency_code, level=Level.REGENCY).first()
    if regency is None or not get_scope(user).contains(regency.code):
        raise PermissionDenied(_("This regency is outside your region scope."))
    if not name.strip():
        raise ValidationError(_("Give the name of the person recommended."))
    villages = _villages(village_codes, regency)
    with transaction.atomic():
        assignment = AgentAssignment.objects.create(
            regency=regency,
            campaign=campaign,
            name=name.strip(),
            phone=phone.strip(),
            recommended_by=user,
            recommended_office=user.office,
            recommended_at=timezone.now(),
        )
        assignment.villages.set(villages)
    return assignment


def _open_assignment(user: User, pk: int) -> AgentAssignment:
    if not can_decide(user):
        raise PermissionDenied(_("Only the BPJS branch approves and assigns agents."))
    assignment = AgentAssignment.objects.for_user(user).filter(pk=pk).first()
    if assignment is None:
        raise PermissionDenied(_("This recommendation is outside your region scope."))
    if assignment.status != AssignmentStatus.RECOMMENDED:
        raise ValidationError(_("This recommendation has already been decided."))
    return assignment


def approve(user: User, pk: int, *, username: str) -> AgentAssignment:
    """The branch approves the recommendation and assigns the person, as the agent account
    `username` (made when it does not exist yet, without a password), to its villages."""
    assignment = _open_assignment(user, pk)
    username = username.strip()
    if not username:
        raise ValidationError(_("Give the agent's user name."))
    with transaction.atomic():
        agent = User.objects.filter(username=username).first()
        if agent is None:
            first, _space, last = assignment.name.partition(" ")
            agent = User(username=username, role=Role.AGENT, first_name=first, last_name=last)
            agent.set_unusable_password()
            agent.save()
        elif agent.role != Role.AGENT:
            raise ValidationError(_("The account %(u)s is not an agent.") % {"u": username})
        for village in assignment.villages.all():
            Scope.objects.get_or_create(user=agent, region=village)
        forget_scope(agent)
        assignment.status = AssignmentStatus.ASSIGNED
        assignment.decided_by, assignment.decided_at = user, timezone.now()
        assignment.agent = agent
        assignment.save()
    return assignment


def decline(user: User, pk: int, *, note: str) -> AgentAssignment:
    assignment = _open_assignment(user, pk)
    assignment.status = AssignmentStatus.DECLINED
    assignment.decided_by, assignment.decided_at = user, timezone.now()
    assignment.decision_note = note.strip()[:300]
    assignment.save()
    return assignment


def month_range(month: str) -> tuple[date, date]:
    """First and last day of `month` (YYYY-MM)."""
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError as exc:
        raise ValidationError(_("A month is written YYYY-MM, e.g. 2024-05.")) from exc
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def monthly_figures(user: User, code: str, month: str) -> list[dict[str, Any]]:
    """Per agent in `code`: the month's figures next to the monthly targets, with the share.
    Confirmed and activated are those of the agent's monthly statement."""
    start, end = month_range(month)
    targets = monthly_targets()
    rows = agent_kpis(user, code, start, end)
    agents_by_name = {
        a.username: a for a in User.objects.filter(username__in=[r["agent"] for r in rows])
    }
    for row in rows:
        # Confirmed as the statement counts them: the month's submissions that the next
        # membership snapshot shows (not the day the reconciliation happened to run).
        st = statement(user, agents_by_name[row["agent"]], month)
        row["confirmed"], row["activated"] = st.confirmed, st.active_people
        row["against"] = [
            {
                "key": key,
                "value": row[key],
                "target": target,
                "pct": round(100 * row[key] / target) if target else None,
            }
            for key, target in targets.items()
        ]
    return rows


@dataclass
class StatementLine:
    village: str
    kk: str
    submitted: date
    people: int
    confirmed: bool
    active_people: int


@dataclass
class Statement:
    agent: User
    month: str
    snapshot: Snapshot | None  # the next membership snapshot after the month
    lines: list[StatementLine]

    @property
    def submitted(self) -> int:
        return len(self.lines)

    @property
    def confirmed(self) -> int:
        return sum(line.confirmed for line in self.lines)

    @property
    def confirmed_people(self) -> int:
        return sum(line.people for line in self.lines if line.confirmed)

    @property
    def active_people(self) -> int:
        return sum(line.active_people for line in self.lines if line.confirmed)


def statement(user: User, agent: User, month: str) -> Statement:
    """The agent's registrations submitted in `month` and which of them the next membership
    snapshot after the month confirms: what a district can base an honorarium on. KK masked
    for roles that do not see full identifiers; the caller logs the read."""
    start, end = month_range(month)
    scope = get_scope(user)
    if user.pk != agent.pk and user.role not in (
        Role.BRANCH,
        Role.REGENCY,
        Role.PROVINCE,
        Role.ADMIN,
    ):
        raise PermissionDenied(_("Only the agent, the BPJS branch and the Pemda see statements."))
    snapshot = (
        Snapshot.objects.filter(kind="membership", as_of__gt=end).order_by("as_of", "id").first()
    )
    tz = timezone.get_current_timezone()
    requests = (
        RegistrationRequest.objects.for_user(user)
        .filter(agent=agent, submitted_at__isnull=False)
        .filter(
            submitted_at__gte=datetime.combine(start, datetime.min.time(), tz),
            submitted_at__lte=datetime.combine(end, datetime.max.time(), tz),
        )
        .select_related("confirmed_by")
        .prefetch_related(Prefetch("people", queryset=RegistrationPerson.objects.for_user(user)))
        .order_by("submitted_at", "id")
    )
    viewer = Viewer.of(user)
    lines = []
    for r in requests:
        if not scope.contains(r.village_id):
            continue
        by_next = (
            snapshot is not None
            and r.status in (RequestStatus.CONFIRMED, RequestStatus.ACTIVATED)
            and r.confirmed_by is not None
            and r.confirmed_by.as_of <= snapshot.as_of
        )
        people = list(r.people.all())
        lines.append(
            StatementLine(
                village=r.village_id,
                kk=viewer.identifier(r.kk),
                submitted=timezone.localdate(r.submitted_at),
                people=len(people),
                confirmed=by_next,
                active_people=sum(p.status == "ACTIVE" for p in people),
            )
        )
    return Statement(agent=agent, month=month, snapshot=snapshot, lines=lines)

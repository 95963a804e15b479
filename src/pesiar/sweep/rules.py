"""The sweep's rules, in one place: which flags a member carries, which pathway to coverage
is recommended, and how much each counts towards a family's priority.

Thresholds come from ``settings.PESIAR["SWEEP"]``; weights from the regency's
``PriorityWeights`` (admin), else the default row, else ``DEFAULT_WEIGHTS`` below.
docs/sweep.md explains each rule; tests/test_sweep_rules.py is their table.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings

from pesiar.sweep.models import Flag, Pathway


@dataclass(frozen=True)
class Thresholds:
    poor_decile_max: int = 4
    layoff_months: int = 6
    elderly_age: int = 60
    pbi_premium_monthly: int = 42_000

    @classmethod
    def from_settings(cls) -> "Thresholds":
        configured = settings.PESIAR.get("SWEEP", {})
        return cls(
            poor_decile_max=int(configured.get("POOR_DECILE_MAX", cls.poor_decile_max)),
            layoff_months=int(configured.get("LAYOFF_MONTHS", cls.layoff_months)),
            elderly_age=int(configured.get("ELDERLY_AGE", cls.elderly_age)),
            pbi_premium_monthly=int(configured.get("PBI_PREMIUM_MONTHLY", cls.pbi_premium_monthly)),
        )

    @property
    def pbi_yearly(self) -> int:
        """What one PBI-APBD person costs the Pemda in a year (Rp)."""
        return self.pbi_premium_monthly * 12


@dataclass
class Member:
    """What the registers say about one member of a listed family on the sweep's date."""

    status: str  # ACTIVE / INACTIVE / NOT_REGISTERED
    nik: str = ""
    inactive_reason: str = ""
    segment: str = ""
    birth_date: date | None = None
    decile: int | None = None  # welfare decile (P3KE); None: not listed, or listed without one
    welfare_listed: bool = False  # in the welfare list (DTKS/DTSEN lists the poor, no decile)
    layoff_date: date | None = None
    stunted: bool = False
    pregnant: bool = False
    formal_worker: bool = False  # in the workers list (formal wage earner)
    # (not registered by the employer = not in the PPU segment, active or not)
    arrears_months: int | None = None
    deceased_suspected: bool = False  # BPJS says deceased, Dukcapil says alive
    moved_suspected: bool = False  # BPJS address in another regency than Dukcapil's
    flags: list[str] = field(default_factory=list)
    pathway: str = ""
    priority: int = 0

    @property
    def covered(self) -> bool:
        return self.status == "ACTIVE"


def months_between(earlier: date, later: date) -> int:
    """Whole months from `earlier` to `later` (0 in the same month)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - (later.day < earlier.day)


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def is_poor(member: Member, thresholds: Thresholds) -> bool:
    """A decile at or below POOR_DECILE_MAX (P3KE); without a decile, being in the welfare
    list at all (DTKS/DTSEN lists the poor and gives no decile)."""
    if member.decile is not None:
        return member.decile <= thresholds.poor_decile_max
    return member.welfare_listed


# Flags: (flag, test). Each member carries every flag whose test holds, covered or not.
FLAG_RULES: list[tuple[str, Callable[[Member, date, Thresholds], bool]]] = [
    (Flag.POOR, lambda m, d, t: is_poor(m, t)),
    (
        Flag.LAID_OFF,
        lambda m, d, t: (
            m.layoff_date is not None
            and m.layoff_date <= d
            and months_between(m.layoff_date, d) < t.layoff_months
        ),
    ),
    (Flag.STUNTED, lambda m, d, t: m.stunted),
    (Flag.PREGNANT, lambda m, d, t: m.pregnant),
    (
        Flag.FORMAL_NO_PPU,
        lambda m, d, t: m.formal_worker and m.segment != "PPU",
    ),
    (
        Flag.ELDERLY,
        lambda m, d, t: m.birth_date is not None and age_on(m.birth_date, d) >= t.elderly_age,
    ),
    (Flag.NO_NIK, lambda m, d, t: not m.nik),
    (Flag.DECEASED_OR_MOVED, lambda m, d, t: m.deceased_suspected or m.moved_suspected),
]

# Pathways: the first rule that holds for a member who is not active. Read top to bottom:
PATHWAY_RULES: list[tuple[str, Callable[[Member], bool]]] = [
    # the registers disagree on whether the person is alive or here: fix the data first
    (Pathway.DATA_CORRECTION, lambda m: Flag.DECEASED_OR_MOVED in m.flags),
    # no NIK, no JKN: Dukcapil issues the NIK (newborns and children first)
    (Pathway.NIK_FIRST, lambda m: Flag.NO_NIK in m.flags),
    # a wage earner whose employer never registered them: the employer must (PPU)
    (Pathway.EMPLOYER, lambda m: Flag.FORMAL_NO_PPU in m.flags),
    # poor and not covered (never registered, PBI deactivated, or inactive): Pemda pays
    (Pathway.PBI_APBD, lambda m: Flag.POOR in m.flags),
    # laid off within the period: continue as PBPU or claim the PHK benefit
    (Pathway.PHK_CONTINUATION, lambda m: Flag.LAID_OFF in m.flags),
    # inactive with arrears: BPJS installment plan
    (
        Pathway.REHAB,
        lambda m: m.status == "INACTIVE" and (m.arrears_months or 0) > 0,
    ),
    # everyone else: self-paying registration of the whole family card
    (Pathway.PBPU, lambda m: True),
]

# Points per flag (counted for members who are not active) and per pathway (quick wins
# first). A regency can set its own in the admin (Sisir > priority weights).
DEFAULT_WEIGHTS: dict[str, int] = {
    Flag.STUNTED: 30,
    Flag.PREGNANT: 30,
    Flag.NO_NIK: 20,
    Flag.POOR: 20,
    Flag.ELDERLY: 10,
    Flag.LAID_OFF: 10,
    Flag.FORMAL_NO_PPU: 10,
    Flag.DECEASED_OR_MOVED: 0,
    Flag.LOST_RECENTLY: 0,
    Pathway.EMPLOYER: 15,
    Pathway.PHK_CONTINUATION: 15,
    Pathway.PBI_APBD: 10,
    Pathway.REHAB: 5,
    Pathway.PBPU: 5,
    Pathway.NIK_FIRST: 5,
    Pathway.DATA_CORRECTION: 0,
}


def flags_of(member: Member, as_of: date, thresholds: Thresholds) -> list[str]:
    return [str(flag) for flag, test in FLAG_RULES if test(member, as_of, thresholds)]


def pathway_of(member: Member) -> str:
    """The recommended pathway of a member who is not active ('' for active members)."""
    if member.covered:
        return ""
    return next(str(pathway) for pathway, test in PATHWAY_RULES if test(member))


def classify(member: Member, as_of: date, thresholds: Thresholds, weights: dict) -> Member:
    """Fill the member's flags, pathway and priority points (in place; returned)."""
    member.flags = flags_of(member, as_of, thresholds)
    member.pathway = pathway_of(member)
    if member.covered:
        member.priority = 0
    else:
        member.priority = sum(weights.get(f, 0) for f in member.flags) + weights.get(
            member.pathway, 0
        )
    return member


def explain(members: list[Member], weights: dict) -> tuple[int, list[dict]]:
    """A family's priority and its explanation: per flag and pathway of the members who are
    not active, how many, the weight, the points; largest first."""
    counts: dict[str, int] = {}
    for member in members:
        if member.covered:
            continue
        for key in [*member.flags, member.pathway]:
            counts[key] = counts.get(key, 0) + 1
    lines = [
        {"key": key, "count": n, "weight": weights.get(key, 0), "points": n * weights.get(key, 0)}
        for key, n in counts.items()
    ]
    lines.sort(key=lambda line: (-line["points"], line["key"]))
    return sum(line["points"] for line in lines), lines

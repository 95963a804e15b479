"""Family worklists of the sweep (Sisir): one item per family card (KK) with at least one
member not registered or not active, its members with flags, pathway and priority."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pesiar.accounts.scoping import ScopedManager


class Pathway(models.TextChoices):
    """The route to coverage recommended for a member (codes as in exports and the API)."""

    PBI_APBD = "PBI_APBD", _("PBI-APBD proposal")
    PBPU = "PBPU", _("PBPU self-paying registration of the whole family card")
    EMPLOYER = "EMPLOYER", _("employer referral")
    REHAB = "REHAB", _("REHAB arrears installment plan")
    PHK_CONTINUATION = "PHK_CONTINUATION", _("continuation after layoff")
    NIK_FIRST = "NIK_FIRST", _("NIK first at Dukcapil")
    DATA_CORRECTION = "DATA_CORRECTION", _("data correction")


class Flag(models.TextChoices):
    """Why a member matters (each carries a priority weight)."""

    POOR = "POOR", _("poor (welfare list)")
    LAID_OFF = "LAID_OFF", _("laid off recently")
    STUNTED = "STUNTED", _("stunted child")
    PREGNANT = "PREGNANT", _("pregnant")
    FORMAL_NO_PPU = "FORMAL_NO_PPU", _("formal worker not registered by the employer")
    ELDERLY = "ELDERLY", _("elderly")
    NO_NIK = "NO_NIK", _("child without NIK")
    DECEASED_OR_MOVED = "DECEASED_OR_MOVED", _("deceased or moved suspected")
    LOST_RECENTLY = "LOST_RECENTLY", _("lost active cover since the previous snapshot")


class SweepRun(models.Model):
    """One run of `pesiar sweep`: the map it read, the lists it used, what it changed."""

    as_of = models.DateField(_("as of"), db_index=True)
    link_run = models.ForeignKey("linkage.LinkRun", on_delete=models.PROTECT, related_name="+")
    snapshots = models.JSONField(default=dict, help_text="register kind -> snapshot id used")
    config = models.JSONField(default=dict, help_text="thresholds and premium used")
    counts = models.JSONField(default=dict)
    seconds = models.JSONField(default=dict)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-as_of", "-id"]

    def __str__(self) -> str:
        return f"sweep {self.as_of} #{self.pk}"


class WorklistItem(models.Model):
    """A family (KK) to visit. Kept across sweeps, so its visit history stays with it."""

    class State(models.TextChoices):
        OPEN = "OPEN", _("open")
        CLOSED = "CLOSED", _("closed")

    kk = models.CharField(_("family card (KK)"), max_length=16, unique=True)
    village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("village")
    )
    state = models.CharField(_("state"), max_length=6, choices=State.choices, default="OPEN")
    # Latest visit outcome (set by the field app when a visit is recorded); blank = not visited.
    outcome = models.CharField(_("latest outcome"), max_length=24, blank=True)
    last_visit_at = models.DateField(_("last visit"), null=True, blank=True)
    head_name = models.CharField(_("head of family"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    priority = models.IntegerField(_("priority"), default=0, db_index=True)
    explanation = models.JSONField(
        _("priority explained"), default=list, help_text="[{flag, count, weight, points}]"
    )
    pathways = models.JSONField(_("pathways"), default=list)
    members_total = models.PositiveIntegerField(default=0)
    members_uncovered = models.PositiveIntegerField(default=0)
    pbi_people = models.PositiveIntegerField(_("PBI-APBD proposals"), default=0)
    yearly_cost = models.BigIntegerField(_("PBI-APBD cost per year (Rp)"), default=0)
    first_as_of = models.DateField(_("listed since"))
    last_as_of = models.DateField(_("last swept"))
    closed_as_of = models.DateField(_("closed on"), null=True, blank=True)
    closed_reason = models.CharField(max_length=40, blank=True)
    # Raised by every change the field makes to the family (a visit, a registration): an
    # offline client sends the version it saw, and a change made against an older one is
    # flagged as a conflict instead of silently overwriting the newer one.
    version = models.PositiveIntegerField(_("version"), default=1)
    sweep = models.ForeignKey(SweepRun, on_delete=models.PROTECT, related_name="items")

    objects = ScopedManager("village", personal=True, identifiers=("kk",))

    class Meta:
        indexes = [models.Index(fields=["village", "state", "-priority"])]
        ordering = ["-priority", "kk"]

    def __str__(self) -> str:
        return f"KK {self.kk} ({self.village_id}, {self.state})"


class WorklistMember(models.Model):
    """A member of a listed family as of the item's last sweep (replaced by each sweep)."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", _("active")
        INACTIVE = "INACTIVE", _("inactive")
        NOT_REGISTERED = "NOT_REGISTERED", _("not registered")

    item = models.ForeignKey(WorklistItem, on_delete=models.CASCADE, related_name="members")
    nik = models.CharField("NIK", max_length=16, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    sex = models.CharField(_("sex"), max_length=1, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    relation = models.CharField(_("family relation"), max_length=40, blank=True)
    status = models.CharField(_("status"), max_length=14, choices=Status.choices)
    inactive_reason = models.CharField(_("inactive reason"), max_length=20, blank=True)
    noka = models.CharField(_("JKN card number"), max_length=13, blank=True)
    segment = models.CharField(_("segment"), max_length=10, blank=True)
    flags = models.JSONField(_("flags"), default=list)
    pathway = models.CharField(
        _("pathway"), max_length=16, choices=Pathway.choices, blank=True, db_index=True
    )
    priority = models.IntegerField(_("priority"), default=0)
    decile = models.PositiveSmallIntegerField(_("welfare decile"), null=True, blank=True)
    arrears_months = models.PositiveIntegerField(_("months in arrears"), null=True, blank=True)
    arrears_amount = models.BigIntegerField(_("arrears (Rp)"), null=True, blank=True)
    employer_code = models.CharField(_("employer code"), max_length=20, blank=True)
    employer_name = models.CharField(_("employer"), max_length=200, blank=True)
    layoff_date = models.DateField(_("laid off on"), null=True, blank=True)

    objects = ScopedManager("item__village", personal=True, identifiers=("nik",))

    class Meta:
        ordering = ["item", "-priority", "birth_date"]

    def __str__(self) -> str:
        return f"{self.nik or self.name} ({self.status}, {self.pathway or '-'})"


class PriorityWeights(models.Model):
    """Priority weights of one regency (or the default, with no regency).

    A family's priority is the sum, over its members who are not active, of the weights of
    their flags and of their pathway. Officers tune them per regency in the admin.
    """

    regency = models.OneToOneField(
        "regions.Region",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("regency"),
        help_text=_("Empty: the default for regencies without weights of their own."),
    )
    weights = models.JSONField(_("weights"), default=dict)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedManager("regency")

    class Meta:
        verbose_name = _("priority weights")
        verbose_name_plural = _("priority weights")

    def __str__(self) -> str:
        return f"weights {self.regency_id or 'default'}"

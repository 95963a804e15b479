from django.db import models
from django.utils.translation import gettext_lazy as _

from pesiar.accounts.scoping import ScopedManager


class Indicator(models.Model):
    """UHC-Desa figures of one region on one date (definitions: REGISTERS.md, "The figures").

    Villages are computed from the residents' statuses; districts, regencies and provinces
    are the sums of their villages. Rank is within the parent region, by active % and then
    coverage %.
    """

    as_of = models.DateField(_("as of"), db_index=True)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField(_("level"))
    run = models.ForeignKey("linkage.LinkRun", on_delete=models.CASCADE, related_name="+")
    population = models.BigIntegerField(_("population"))
    registered = models.BigIntegerField(_("registered"))
    active = models.BigIntegerField(_("active"))
    coverage_pct = models.DecimalField(_("coverage %"), max_digits=5, decimal_places=2)
    active_pct = models.DecimalField(_("active %"), max_digits=5, decimal_places=2)
    to_target_coverage = models.BigIntegerField(_("people to the coverage target"))
    to_target_active = models.BigIntegerField(_("people to the activity target"))
    rank = models.PositiveIntegerField(_("rank"), null=True)
    rank_of = models.PositiveIntegerField(_("regions ranked"), null=True)
    uhc_class = models.CharField(_("UHC class"), max_length=20)
    segments = models.JSONField(_("registered by segment"), default=dict)
    inactive_reasons = models.JSONField(_("inactive by reason"), default=dict)
    unmatched_participants = models.BigIntegerField(_("participants without a resident"), default=0)
    deceased_listed = models.BigIntegerField(_("deceased residents still listed"), default=0)

    objects = ScopedManager("region")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["as_of", "region"], name="one_indicator_per_region")
        ]
        indexes = [models.Index(fields=["as_of", "level"])]
        ordering = ["as_of", "region"]

    def __str__(self) -> str:
        return f"{self.region_id} {self.as_of}: {self.coverage_pct}% / {self.active_pct}%"


class Change(models.Model):
    """A resident whose status changed between two maps (the churn radar): one row per
    resident and new map, with its cause. Losses carry the pathway that recovers them and
    its deadline, set by the sweep (pesiar.sweep.churn)."""

    class Cause(models.TextChoices):
        PBI_DEACTIVATED = "PBI_DEACTIVATED", _("PBI deactivated")
        ARREARS = "ARREARS", _("PBPU arrears")
        EMPLOYMENT_ENDED = "EMPLOYMENT_ENDED", _("PPU employment ended")
        OTHER_LOSS = "OTHER_LOSS", _("inactive for another reason")
        DEREGISTERED = "DEREGISTERED", _("card no longer found")
        DECEASED = "DECEASED", _("deceased")
        MOVED = "MOVED", _("moved")
        LEFT = "LEFT", _("left the population register")
        BORN = "BORN", _("born")
        REGISTERED = "REGISTERED", _("newly registered")
        REACTIVATED = "REACTIVATED", _("reactivated")

    as_of = models.DateField(_("as of"), db_index=True)
    previous_as_of = models.DateField(_("previous date"))
    run = models.ForeignKey("linkage.LinkRun", on_delete=models.CASCADE, related_name="+")
    village_code = models.CharField(_("village"), max_length=13)
    from_village_code = models.CharField(_("previous village"), max_length=13, blank=True)
    nik = models.CharField("NIK", max_length=16)
    kk = models.CharField(_("family card (KK)"), max_length=16, blank=True)
    cause = models.CharField(_("cause"), max_length=16, choices=Cause.choices)
    status_before = models.CharField(_("status before"), max_length=14, blank=True)
    status_after = models.CharField(_("status after"), max_length=14, blank=True)
    segment = models.CharField(_("segment"), max_length=10, blank=True)
    pathway = models.CharField(_("pathway"), max_length=16, blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)

    objects = ScopedManager("village_code", personal=True, identifiers=("nik", "kk"))

    class Meta:
        indexes = [models.Index(fields=["as_of", "village_code"])]
        ordering = ["as_of", "village_code", "cause", "nik"]

    def __str__(self) -> str:
        return f"{self.nik} {self.as_of}: {self.cause}"

"""Campaigns on focus villages, and the agents the programme recommends and assigns.

- `Campaign`: a named, dated push in a regency (or a province) by the offices involved.
- `FocusVillage`: one village of a campaign, chosen by code, with its target (coverage %,
  active % or a number of people).
- `AgentAssignment`: a person a Pemda office recommends as Agen Pesiar for given villages;
  the BPJS branch approves and assigns them (both steps recorded with who and when), or
  declines.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pesiar.accounts.models import Office
from pesiar.accounts.scoping import ScopedManager


class Campaign(models.Model):
    """A campaign of one regency or province over a period, on its focus villages."""

    name = models.CharField(_("name"), max_length=200)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region")
    )
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    offices = models.JSONField(
        _("offices involved"), default=list, help_text="Pemda office codes, and 'bpjs'"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager("region")

    class Meta:
        ordering = ["-start", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.region_id})"


class TargetKind(models.TextChoices):
    COVERAGE = "coverage", _("coverage %")
    ACTIVE = "active", _("active %")
    PEOPLE = "people", _("people registered")


class FocusVillage(models.Model):
    """A village a campaign works on, and what it aims for by the campaign's end."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="villages")
    village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("village")
    )
    target_kind = models.CharField(
        _("target"), max_length=10, choices=TargetKind.choices, default=TargetKind.COVERAGE
    )
    target_value = models.DecimalField(_("target value"), max_digits=9, decimal_places=2)

    objects = ScopedManager("village")

    class Meta:
        ordering = ["campaign", "village"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "village"], name="campaigns_village_once_per_campaign"
            )
        ]

    def __str__(self) -> str:
        return f"{self.village_id} in campaign {self.campaign_id}"


class AssignmentStatus(models.TextChoices):
    RECOMMENDED = "RECOMMENDED", _("recommended by the Pemda")
    ASSIGNED = "ASSIGNED", _("approved and assigned by BPJS")
    DECLINED = "DECLINED", _("declined by BPJS")


class AgentAssignment(models.Model):
    """A person recommended as Agen Pesiar for villages of one regency, and what BPJS decided."""

    regency = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("regency")
    )
    villages = models.ManyToManyField(
        "regions.Region", related_name="+", verbose_name=_("villages")
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="agents"
    )
    name = models.CharField(_("name"), max_length=200)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    status = models.CharField(
        _("status"),
        max_length=11,
        choices=AssignmentStatus.choices,
        default=AssignmentStatus.RECOMMENDED,
    )
    recommended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recommended_office = models.CharField(_("recommending office"), max_length=16)
    recommended_at = models.DateTimeField(_("recommended on"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(_("decided on"), null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=300, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("agent account"),
    )

    objects = ScopedManager("regency")

    class Meta:
        ordering = ["-recommended_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def recommended_office_label(self) -> str:
        """The office's name in words (the field holds its code)."""
        return str(dict(Office.choices).get(self.recommended_office, self.recommended_office))

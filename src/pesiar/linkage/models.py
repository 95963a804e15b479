from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pesiar.accounts.scoping import ScopedManager


class LinkRun(models.Model):
    """One run of `pesiar map`: which snapshots, counts and time per stage, the model."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING", _("running")
        DONE = "DONE", _("done")
        FAILED = "FAILED", _("failed")

    as_of = models.DateField(_("as of"), db_index=True)
    population = models.ForeignKey("registers.Snapshot", on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey("registers.Snapshot", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    folder = models.CharField(max_length=255, help_text="relative to PESIAR_DATA_DIR")
    counts = models.JSONField(default=dict)
    seconds = models.JSONField(default=dict)
    parameters = models.JSONField(default=dict)
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-as_of", "-id"]

    def __str__(self) -> str:
        return f"map {self.as_of} #{self.pk} ({self.status})"

    @property
    def path(self) -> Path:
        return Path(settings.DATA_DIR) / self.folder

    @property
    def persons_file(self) -> Path:
        return self.path / "persons.parquet"

    @property
    def links_file(self) -> Path:
        return self.path / "links.parquet"


class ReviewDecision(models.Model):
    """Staff's decision on a resident-participant pair. Keyed by NIK and Noka, so it holds
    for every later run that proposes the same pair."""

    class Decision(models.TextChoices):
        ACCEPT = "ACCEPT", _("same person")
        REJECT = "REJECT", _("different people")

    resident_nik = models.CharField(max_length=16)
    noka = models.CharField(max_length=13)
    village_code = models.CharField(max_length=13, db_index=True)
    decision = models.CharField(max_length=6, choices=Decision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager("village_code", personal=True, identifiers=("resident_nik",))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resident_nik", "noka"], name="one_decision_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.resident_nik} ~ {self.noka}: {self.decision}"


class ReviewItem(models.Model):
    """A pair in the review band of a run, with both records side by side."""

    run = models.ForeignKey(LinkRun, on_delete=models.CASCADE, related_name="review_items")
    village_code = models.CharField(max_length=13, db_index=True)
    resident_nik = models.CharField(max_length=16)
    noka = models.CharField(max_length=13)
    probability = models.FloatField()
    resident = models.JSONField(default=dict)
    participant = models.JSONField(default=dict)

    objects = ScopedManager("village_code", personal=True, identifiers=("resident_nik",))

    class Meta:
        ordering = ["-probability"]

    def __str__(self) -> str:
        return f"{self.resident_nik} ~ {self.noka} ({self.probability:.2f})"

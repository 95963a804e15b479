from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pesiar.accounts.scoping import ScopedManager
from pesiar.registers.schema import Kind


class SnapshotQuerySet(models.QuerySet):
    def current(self) -> "SnapshotQuerySet":
        """Snapshots not replaced by a later import of the same kind and date."""
        return self.filter(superseded_at__isnull=True)

    def latest_for(self, kind: str, as_of) -> "Snapshot | None":
        """The current snapshot of `kind` on `as_of`, or the latest one before it (of any
        scope; `pesiar.registers.snapshots.snapshot_files` gives every scope's file)."""
        return self.current().filter(kind=kind, as_of__lte=as_of).order_by("-as_of", "-id").first()


class Snapshot(models.Model):
    """One imported register extract: immutable Parquet of accepted rows plus rejects.

    A row exists only once its files are in place: the files are moved into their final
    folder inside the transaction that creates the row, so a reader that goes through this
    table never sees a partial snapshot.
    """

    kind = models.CharField(_("register"), max_length=20, choices=[(k, k) for k in Kind])
    as_of = models.DateField(_("as of"))
    source_name = models.CharField(_("source file"), max_length=255)
    # The region the file covers ('' nation-wide): the importer's scope. Rows outside it are
    # rejected (OUT_OF_SCOPE), and replacing a snapshot replaces only this scope's.
    scope = models.CharField(_("region"), max_length=13, blank=True, default="")
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField(default=0)
    rows_read = models.BigIntegerField(default=0)
    accepted = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    warned = models.BigIntegerField(_("accepted with warnings"), default=0)
    folder = models.CharField(max_length=255, help_text="relative to PESIAR_DATA_DIR")
    summary = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["-as_of", "kind", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "as_of", "scope"],
                condition=models.Q(superseded_at__isnull=True),
                name="one_current_snapshot_per_kind_date_and_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.as_of} #{self.pk}"

    @property
    def path(self) -> Path:
        return Path(settings.DATA_DIR) / self.folder

    @property
    def data_file(self) -> Path:
        return self.path / "accepted.parquet"

    @property
    def rejects_file(self) -> Path:
        return self.path / "rejects.csv"


class Finding(models.Model):
    """Data-quality count per snapshot, village and reason code (accepted and rejected rows)."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="findings")
    village_code = models.CharField(max_length=13, blank=True, db_index=True)
    code = models.CharField(max_length=40)
    severity = models.CharField(max_length=10)
    rows = models.BigIntegerField()

    objects = ScopedManager("village_code")

    class Meta:
        indexes = [models.Index(fields=["snapshot", "village_code"])]

    def __str__(self) -> str:
        return f"{self.code} {self.village_code or '-'}: {self.rows}"


class ImportJob(models.Model):
    """An import started from the web: the uploaded file waits here until the worker has
    turned it into a snapshot (or said why it could not)."""

    class Status(models.TextChoices):
        PREVIEW = "PREVIEW", _("waiting for confirmation")
        QUEUED = "QUEUED", _("queued")
        RUNNING = "RUNNING", _("running")
        DONE = "DONE", _("done")
        DUPLICATE = "DUPLICATE", _("already imported")
        FAILED = "FAILED", _("failed")

    kind = models.CharField(_("register"), max_length=20, choices=[(k, k) for k in Kind])
    as_of = models.DateField(_("as of"))
    replace = models.BooleanField(_("replace the existing snapshot"), default=False)
    format_name = models.CharField(_("format"), max_length=40, blank=True)
    village = models.CharField(_("village"), max_length=13, blank=True)
    upload = models.CharField(max_length=255, help_text="relative to PESIAR_DATA_DIR")
    source_name = models.CharField(_("file"), max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    step = models.CharField(max_length=40, blank=True)
    progress = models.FloatField(default=0.0)
    message = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    snapshot = models.ForeignKey(Snapshot, null=True, blank=True, on_delete=models.SET_NULL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.as_of} {self.source_name} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.DUPLICATE, self.Status.FAILED)

    @property
    def upload_path(self) -> Path:
        return Path(settings.DATA_DIR) / self.upload

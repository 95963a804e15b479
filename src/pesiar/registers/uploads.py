"""The web upload before the import starts: the detected format and the column mapping are
shown, and the officer confirms (views.job_confirm)."""

from django.db import transaction
from django.utils import timezone

from pesiar.registers.intake import preview
from pesiar.registers.models import ImportJob
from pesiar.registers.sources import SourceError

VILLAGE_CHOICES_LIMIT = 5000


def show_preview(job: ImportJob) -> None:
    """Store the preview in the job, or fail the job at once with the reason."""
    try:
        found = preview(
            job.kind, job.upload_path, format_name=job.format_name or None, village=job.village
        )
    except SourceError as exc:
        job.status, job.finished_at = ImportJob.Status.FAILED, timezone.now()
        job.message = str(exc).replace(str(job.upload_path), job.source_name)
        job.save(update_fields=["status", "message", "finished_at"])
        return
    job.result = {"preview": found}
    job.save(update_fields=["result"])


def job_start(job: ImportJob, task) -> None:
    """Queue a previewed import once (a second click changes nothing)."""
    with transaction.atomic():
        updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEW).update(
            status=ImportJob.Status.QUEUED, result={}
        )
    if updated:
        task.enqueue(job.pk)


def scope_villages(user) -> list[tuple[str, str]]:
    """(code, name) of the villages the user works in, for the village picker."""
    from pesiar.accounts.scoping import visible_regions
    from pesiar.regions.models import Level

    regions = visible_regions(user).filter(level=Level.VILLAGE).order_by("code")
    return list(regions.values_list("code", "name")[:VILLAGE_CHOICES_LIMIT])

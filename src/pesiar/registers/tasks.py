"""Register imports started from the web, run by the worker (`pesiar db_worker`).

An import that the worker could not finish never stays RUNNING: a time limit or a stop
marks it FAILED here; a worker killed outright is noticed when its lease expires
(pesiar.ops.leases), and `job_abandoned` marks the job FAILED. The worker's housekeeping
removes uploads that no job waiting or running uses, and those of previews nobody confirmed
in time."""

import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from pesiar.ops.conf import worker_settings
from pesiar.ops.leases import TIME_LIMIT, JobTimeLimitExceeded
from pesiar.registers.limits import preview_hours
from pesiar.registers.models import ImportJob, Snapshot
from pesiar.registers.services import RegisterImportError, import_register

logger = logging.getLogger("pesiar.registers")

STEP_WEIGHTS = {"checksum": (0.0, 0.05), "validate": (0.05, 0.75), "write": (0.75, 0.95)}
UNFINISHED = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
# Jobs whose upload is still wanted: those waiting for the officer's confirmation too.
KEEPS_UPLOAD = (ImportJob.Status.PREVIEW, *UNFINISHED)


def time_limit_message() -> str:
    minutes = max(1, round(worker_settings().time_limit_seconds / 60))
    return _(
        "The import took longer than %(minutes)s minutes and was stopped; nothing was "
        "imported. Split the file into smaller ones, or ask the administrator to raise "
        "PESIAR_JOB_TIME_LIMIT."
    ) % {"minutes": minutes}


def worker_lost_message() -> str:
    return _(
        "The import stopped because the worker running it ended unexpectedly (for example "
        "out of memory or restarted); nothing was imported. Upload the file again."
    )


def fail_job(job_id: int, message: str) -> bool:
    """Mark an unfinished job FAILED and remove its upload; False if it had finished."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        return False
    if job.finished:
        return False
    remove_upload(job)  # first: a job marked FAILED has no upload left
    updated = ImportJob.objects.filter(pk=job_id, status__in=UNFINISHED).update(
        status=ImportJob.Status.FAILED, message=message, step="", finished_at=timezone.now()
    )
    return bool(updated)


def remove_upload(job: ImportJob) -> None:
    if job.upload:
        shutil.rmtree(job.upload_path.parent, ignore_errors=True)


@task()
def run_import_job(job_id: int) -> None:
    job = ImportJob.objects.get(pk=job_id)
    if job.finished:
        return  # a retried task: the work is done
    ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.RUNNING, step="checksum")
    last = [0.0]

    def progress(step: str, fraction: float | None) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5 and fraction not in (None, 1.0):
            return
        last[0] = now
        start, end = STEP_WEIGHTS.get(step, (0.95, 1.0))
        overall = start + (end - start) * (fraction or 0.0)
        ImportJob.objects.filter(pk=job_id).update(step=step, progress=round(overall, 3))

    try:
        result = import_register(
            job.kind,
            job.upload_path,
            job.as_of,
            replace=job.replace,
            user=job.created_by,
            progress=progress,
            format_name=job.format_name or None,
            village=job.village or None,
        )
    except RegisterImportError as exc:
        # The message names the temporary upload; show the user's own file name instead.
        message = str(exc).replace(str(job.upload_path), job.source_name)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, message=message, finished_at=timezone.now()
        )
    except JobTimeLimitExceeded:
        fail_job(job_id, time_limit_message())
        raise
    except BaseException:
        # A stop (second SIGTERM) or an unexpected error: the job must not stay RUNNING.
        fail_job(job_id, worker_lost_message())
        raise
    else:
        snapshot_id = result.snapshot_id or result.duplicate_of
        data = result.as_dict()
        data["source"] = job.source_name
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.DUPLICATE if result.duplicate_of else ImportJob.Status.DONE,
            progress=1.0,
            step="",
            result=data,
            snapshot=Snapshot.objects.filter(pk=snapshot_id).first(),
            finished_at=timezone.now(),
        )
        if result.snapshot_id:
            Snapshot.objects.filter(pk=result.snapshot_id).update(source_name=job.source_name)
    finally:
        remove_upload(job)


def job_abandoned(sender, *, task_path: str, args: list, reason: str, **kwargs) -> None:
    """Receiver of pesiar.ops.signals.task_abandoned: the import's worker is gone."""
    if task_path != f"{__name__}.{run_import_job.func.__name__}" or not args:
        return
    message = time_limit_message() if reason == TIME_LIMIT else worker_lost_message()
    if fail_job(int(args[0]), message):
        logger.warning("import job %s failed: its worker was lost (%s)", args[0], reason)


def remove_orphaned_uploads(sender=None, *, older_than: timedelta | None = None, **kwargs) -> int:
    """Receiver of pesiar.ops.signals.housekeeping: remove upload folders that no previewed,
    queued or running job uses and that are older than PESIAR_UPLOAD_ORPHAN_HOURS (a younger one may
    be an upload whose job is being created). Returns the number removed."""
    root = Path(settings.DATA_DIR) / "uploads"
    if not root.is_dir():
        return 0
    if older_than is None:
        older_than = timedelta(hours=worker_settings().upload_orphan_hours)
    in_use = {
        Path(upload).parts[1]
        for upload in ImportJob.objects.filter(status__in=KEEPS_UPLOAD).values_list(
            "upload", flat=True
        )
        if len(Path(upload).parts) > 2
    }
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for folder in root.iterdir():
        if folder.name in in_use or folder.stat().st_mtime > cutoff:
            continue
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folder.unlink(missing_ok=True)
        removed += 1
    if removed:
        logger.info("removed %d orphaned upload(s) from %s", removed, root)
    return removed


def preview_expired_message(hours: float) -> str:
    return _(
        "The import was not started within %(hours)s hours of the upload, so the file was "
        "removed; nothing was imported. Upload the file again."
    ) % {"hours": f"{hours:g}"}


def expire_previews(sender=None, *, older_than: timedelta | None = None, **kwargs) -> int:
    """Receiver of pesiar.ops.signals.housekeeping: an upload previewed but not confirmed
    within PESIAR_PREVIEW_HOURS is abandoned; its job is FAILED and its file removed.
    Returns the number of jobs."""
    if older_than is None:
        older_than = timedelta(hours=preview_hours())
    cutoff = timezone.now() - older_than
    expired = 0
    stale = ImportJob.objects.filter(status=ImportJob.Status.PREVIEW, created_at__lt=cutoff)
    for job in stale:
        updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEW).update(
            status=ImportJob.Status.FAILED,
            message=preview_expired_message(older_than.total_seconds() / 3600),
            finished_at=timezone.now(),
        )
        if updated:  # not confirmed meanwhile
            remove_upload(job)
            expired += 1
    if expired:
        logger.info("removed the uploads of %d preview(s) nobody confirmed", expired)
    return expired

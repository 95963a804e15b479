"""Register imports started from the web, run by the worker (`pesiar db_worker`)."""

import shutil
import time

from django.utils import timezone
from django_tasks import task

from pesiar.registers.models import ImportJob, Snapshot
from pesiar.registers.services import RegisterImportError, import_register

STEP_WEIGHTS = {"checksum": (0.0, 0.05), "validate": (0.05, 0.75), "write": (0.75, 0.95)}


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
        shutil.rmtree(job.upload_path.parent, ignore_errors=True)

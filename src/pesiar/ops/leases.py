"""Worker heartbeats and task leases.

Each worker renews a WorkerHeartbeat row every few seconds. A RUNNING task belongs to the
last worker that claimed it; when that worker has not beaten within the lease (it was killed,
ran out of memory, or its machine went away), any worker (and the job pages) marks the task
FAILED and sends `task_abandoned`, so the domain app can mark its own job and clean up.
"""

import logging
import os
import socket
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from pesiar.ops.conf import worker_settings
from pesiar.ops.models import WorkerHeartbeat
from pesiar.ops.signals import task_abandoned

logger = logging.getLogger("pesiar.ops")

WORKER_LOST = "worker_lost"
TIME_LIMIT = "time_limit"


class JobTimeLimitExceeded(Exception):
    """Raised inside a task that ran over PESIAR_JOB_TIME_LIMIT."""


def register_worker(worker_id: str) -> WorkerHeartbeat:
    now = timezone.now()
    beat, _ = WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": now,
            "beat_at": now,
            "task_id": "",
            "task_started_at": None,
            "stopping": False,
        },
    )
    return beat


def beat(worker_id: str, **fields) -> None:
    """Renew the heartbeat (and record the current task or the stopping state)."""
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(
        beat_at=timezone.now(), **fields
    )
    if not updated:
        register_worker(worker_id)
        if fields:
            WorkerHeartbeat.objects.filter(worker_id=worker_id).update(**fields)


def unregister_worker(worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def live_workers(now: datetime | None = None) -> list[WorkerHeartbeat]:
    cutoff = (now or timezone.now()) - timedelta(seconds=worker_settings().lease_seconds)
    return list(WorkerHeartbeat.objects.filter(beat_at__gte=cutoff))


def last_heartbeat() -> WorkerHeartbeat | None:
    return WorkerHeartbeat.objects.order_by("-beat_at").first()


def abandon(result: DBTaskResult, reason: str, detail: str) -> bool:
    """Mark a RUNNING task FAILED (unless it finished meanwhile) and tell its app."""
    with transaction.atomic():
        updated = DBTaskResult.objects.filter(pk=result.pk, status="RUNNING").update(
            status="FAILED",
            finished_at=timezone.now(),
            exception_class_path=(
                f"{JobTimeLimitExceeded.__module__}.{JobTimeLimitExceeded.__qualname__}"
                if reason == TIME_LIMIT
                else "pesiar.ops.leases.WorkerLost"
            ),
            traceback=detail,
            return_value=None,
        )
    if not updated:
        return False
    logger.warning("task %s (%s) abandoned: %s", result.pk, result.task_path, detail)
    task_abandoned.send(
        sender=DBTaskResult,
        task_path=result.task_path,
        args=result.args_kwargs.get("args", []),
        kwargs=result.args_kwargs.get("kwargs", {}),
        reason=reason,
        detail=detail,
    )
    return True


def recover_abandoned(now: datetime | None = None) -> int:
    """Fail every RUNNING task whose worker's lease has expired; the number failed."""
    now = now or timezone.now()
    lease = timedelta(seconds=worker_settings().lease_seconds)
    beats = dict(WorkerHeartbeat.objects.values_list("worker_id", "beat_at"))
    failed = 0
    for result in DBTaskResult.objects.running().order_by("started_at"):
        owner = result.worker_ids[-1] if result.worker_ids else ""
        last = beats.get(owner)
        if last is None:
            # No heartbeat at all: give a worker that has just claimed it one lease.
            last = result.started_at or now
        if now - last < lease:
            continue
        detail = (
            f"worker {owner or '?'} stopped beating at {last:%Y-%m-%d %H:%M:%S %Z} "
            f"(lease {lease.total_seconds():.0f} s)"
        )
        failed += abandon(result, WORKER_LOST, detail)
    WorkerHeartbeat.objects.filter(beat_at__lt=now - max(lease * 10, timedelta(days=1))).delete()
    return failed

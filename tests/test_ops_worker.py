"""The worker as a service: heartbeats, leases (a dead worker's jobs become FAILED), the
run-time limit per task, orphaned uploads, the supervisor that restarts a worker."""

import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from pesiar.accounts.services import ensure_user
from pesiar.ops import leases
from pesiar.ops.models import WorkerHeartbeat
from pesiar.ops.supervise import Supervisor
from pesiar.ops.worker import PesiarWorker
from pesiar.registers import tasks
from pesiar.registers.models import ImportJob


def worker_conf(settings, **values):
    settings.PESIAR = {**settings.PESIAR, "WORKER": {**settings.PESIAR["WORKER"], **values}}


def queued_job(data_dir: Path, user=None, content: str = "nik;kk;decile;village_code\n"):
    folder = data_dir / "uploads" / "abc123"
    folder.mkdir(parents=True)
    (folder / "dtks.csv").write_text(content)
    job = ImportJob.objects.create(
        kind="welfare",
        as_of=date(2024, 6, 1),
        upload=str((folder / "dtks.csv").relative_to(data_dir)),
        source_name="dtks.csv",
        created_by=user,
    )
    result = tasks.run_import_job.enqueue(job.pk)
    return job, DBTaskResult.objects.get(pk=result.id)


def claimed_by(result: DBTaskResult, worker_id: str, beat_ago: float | None) -> None:
    """The task RUNNING on `worker_id`, whose last heartbeat was `beat_ago` seconds ago."""
    result.claim(worker_id)
    ImportJob.objects.update(status=ImportJob.Status.RUNNING, step="validate")
    if beat_ago is not None:
        leases.register_worker(worker_id)
        WorkerHeartbeat.objects.filter(worker_id=worker_id).update(
            beat_at=timezone.now() - timedelta(seconds=beat_ago)
        )


@pytest.mark.django_db
def test_a_running_import_whose_worker_stopped_beating_fails_after_the_lease(settings, data_dir):
    worker_conf(settings, lease_seconds=60)
    job, result = queued_job(data_dir)
    claimed_by(result, "dead-worker", beat_ago=61)
    # A task of a live worker is left alone.
    live_folder = data_dir / "uploads" / "live"
    live_folder.mkdir()
    other = ImportJob.objects.create(
        kind="welfare", as_of=date(2024, 6, 1), upload="uploads/live/x.csv", source_name="x.csv"
    )
    other_result = DBTaskResult.objects.get(pk=tasks.run_import_job.enqueue(other.pk).id)
    other_result.claim("live-worker")
    ImportJob.objects.filter(pk=other.pk).update(status=ImportJob.Status.RUNNING)
    leases.register_worker("live-worker")

    assert leases.recover_abandoned() == 1
    job.refresh_from_db()
    result.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.finished_at is not None
    assert "ended unexpectedly" in job.message or "berhenti" in job.message
    assert result.status == "FAILED" and "dead-worker" in result.traceback
    assert not (data_dir / "uploads" / "abc123").exists()  # its upload is gone
    assert DBTaskResult.objects.get(pk=other_result.pk).status == "RUNNING"
    assert ImportJob.objects.get(pk=other.pk).status == ImportJob.Status.RUNNING
    assert live_folder.exists()
    assert leases.recover_abandoned() == 0  # once


@pytest.mark.django_db
def test_a_task_just_claimed_by_a_worker_without_heartbeat_gets_one_lease(settings, data_dir):
    worker_conf(settings, lease_seconds=60)
    job, result = queued_job(data_dir)
    claimed_by(result, "new-worker", beat_ago=None)
    assert leases.recover_abandoned() == 0
    DBTaskResult.objects.filter(pk=result.pk).update(
        started_at=timezone.now() - timedelta(seconds=61)
    )
    assert leases.recover_abandoned() == 1
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.FAILED


@pytest.mark.django_db
def test_the_job_page_stops_refreshing_once_the_lease_expired(client, settings, data_dir):
    worker_conf(settings, lease_seconds=60)
    user = ensure_user("jambi", role="province", scopes=["15"], password="x-Rahasia-123")
    client.force_login(user)
    job, result = queued_job(data_dir, user=user)
    claimed_by(result, "dead-worker", beat_ago=30)
    page = client.get(reverse("registers:job", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' in page  # still inside the lease: it may be working
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(seconds=90))
    page = client.get(reverse("registers:job", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' not in page
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.FAILED


@pytest.mark.django_db
def test_orphaned_uploads_are_removed_and_those_of_waiting_jobs_kept(settings, data_dir):
    job, _ = queued_job(data_dir)  # QUEUED: its folder stays
    uploads = data_dir / "uploads"
    orphan = uploads / "orphan"
    orphan.mkdir()
    (orphan / "big.csv").write_text("x")
    young = uploads / "young"
    young.mkdir()
    old = time.time() - 7 * 3600
    for folder in (orphan, uploads / "abc123"):
        os.utime(folder, (old, old))
    assert tasks.remove_orphaned_uploads() == 1  # default: older than 6 hours
    assert not orphan.exists() and young.exists() and job.upload_path.exists()
    ImportJob.objects.update(status=ImportJob.Status.FAILED)
    assert tasks.remove_orphaned_uploads() == 1
    assert not job.upload_path.exists()


def slow_import(*args, progress=None, **kwargs):
    while True:  # Python code: the time limit's exception lands here
        progress("validate", 0.1)
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_an_import_over_the_time_limit_is_stopped_with_a_clear_message(
    settings, data_dir, monkeypatch
):
    worker_conf(settings, heartbeat_seconds=0.1, time_limit_seconds=0.5, lease_seconds=30)
    monkeypatch.setattr(tasks, "import_register", slow_import)
    job, result = queued_job(data_dir)
    worker = PesiarWorker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="limited",
        excluded_queue_names=[],
    )
    started = time.monotonic()
    worker.run()
    assert time.monotonic() - started < 20
    job.refresh_from_db()
    result.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "PESIAR_JOB_TIME_LIMIT" in job.message and "1" in job.message
    assert result.status == "FAILED" and result.exception_class_path.endswith(
        "JobTimeLimitExceeded"
    )
    assert not job.upload_path.exists()
    assert not WorkerHeartbeat.objects.exists()  # a worker that stopped says so


@pytest.mark.django_db(transaction=True)
def test_a_worker_beats_while_it_runs(settings, data_dir, monkeypatch):
    worker_conf(settings, heartbeat_seconds=0.1, lease_seconds=30)
    seen = []

    def watched_import(*args, progress=None, **kwargs):
        time.sleep(0.5)
        seen.append(WorkerHeartbeat.objects.get(worker_id="beating"))
        raise tasks.RegisterImportError("stop here")

    monkeypatch.setattr(tasks, "import_register", watched_import)
    job, result = queued_job(data_dir)
    PesiarWorker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="beating",
        excluded_queue_names=[],
    ).run()
    beat = seen[0]
    assert beat.task_id == str(result.pk) and beat.pid == os.getpid()
    assert (timezone.now() - beat.beat_at).total_seconds() < 5
    assert ImportJob.objects.get(pk=job.pk).message == "stop here"


def test_the_supervisor_starts_a_stopped_worker_again(tmp_path):
    script = tmp_path / "child.py"
    script.write_text("import time, os\nprint(os.getpid(), flush=True)\ntime.sleep(60)\n")
    supervisor = Supervisor(
        [sys.executable, str(script)], min_delay=0.1, max_delay=0.2, healthy_after=0.5
    ).start()
    try:
        first = supervisor.process
        first.kill()  # kill -9
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and supervisor.process is first:
            time.sleep(0.05)
        assert supervisor.process is not first and supervisor.restarts == 1
        assert supervisor.process.poll() is None
    finally:
        supervisor.stop(timeout=5)
    assert supervisor.process.poll() is not None  # stopped for good

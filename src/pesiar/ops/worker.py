"""The task worker as a service: django-tasks-db's worker plus a heartbeat, task leases,
a run-time limit per task and periodic housekeeping.

A thread beside the worker loop renews the heartbeat every `heartbeat_seconds`, fails the
tasks of workers whose lease expired, and sends `housekeeping` now and then. A task running
longer than `time_limit_seconds` gets JobTimeLimitExceeded raised inside it; if it is stuck
in native code and has not stopped `time_limit_grace_seconds` later, the task is marked
FAILED and the process exits with EXIT_TIME_LIMIT, for its supervisor (systemd, `pesiar demo`)
to start a fresh one. SIGTERM or SIGINT: finish the current task, then stop (a second signal
stops at once)."""

import ctypes
import logging
import os
import threading
import time

from django.db import OperationalError, close_old_connections, connections
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from pesiar.ops import leases
from pesiar.ops.conf import worker_settings
from pesiar.ops.signals import housekeeping

logger = logging.getLogger("pesiar.ops")

EXIT_TIME_LIMIT = 70


def raise_in_thread(thread_id: int, exc_type: type[BaseException]) -> bool:
    """Raise exc_type in another thread at its next Python instruction."""
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc_type)
    )
    return done == 1


class PesiarWorker(Worker):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.conf = worker_settings()
        self._lock = threading.Lock()
        self._current: tuple[DBTaskResult, float] | None = None
        self._interrupted = False
        self._stop = threading.Event()
        self._main_thread_id = threading.get_ident()

    # The worker loop -------------------------------------------------------------------

    def run(self) -> None:
        self._main_thread_id = threading.get_ident()  # the thread that runs the tasks
        leases.register_worker(self.worker_id)
        thread = threading.Thread(target=self._beside, name="heartbeat", daemon=True)
        thread.start()
        try:
            super().run()
        finally:
            self._stop.set()
            thread.join(timeout=self.conf.heartbeat_seconds + 5)
            try:
                leases.unregister_worker(self.worker_id)
            except OperationalError:
                logger.exception("could not remove the heartbeat of %s", self.worker_id)
            logger.info("worker %s stopped", self.worker_id)

    def run_task(self, db_task_result: DBTaskResult) -> None:
        with self._lock:
            self._current = (db_task_result, time.monotonic())
            self._interrupted = False
        try:
            super().run_task(db_task_result)
        finally:
            try:
                with self._lock:
                    self._current = None
            except leases.JobTimeLimitExceeded:  # arrived just after the task ended
                self._current = None

    # Beside the loop -------------------------------------------------------------------

    def _beside(self) -> None:
        """Heartbeat, lease recovery, time limit and housekeeping, until the loop ends."""
        next_housekeeping = 0.0
        try:
            # register_worker has just beaten: the first beat here comes one interval later,
            # so a short batch run never writes beside the task it runs (SQLite locks tables)
            self._stop.wait(self.conf.heartbeat_seconds)
            while not self._stop.is_set():
                try:
                    self._beat()
                    leases.recover_abandoned()
                    if time.monotonic() >= next_housekeeping and self._current is None:
                        next_housekeeping = time.monotonic() + self.conf.housekeeping_seconds
                        for receiver, error in housekeeping.send_robust(sender=type(self)):
                            if isinstance(error, Exception):
                                logger.error("housekeeping %s failed: %s", receiver, error)
                except OperationalError as exc:  # a locked or lost database: next beat
                    logger.warning("heartbeat of %s: %s", self.worker_id, exc)
                    close_old_connections()
                self._enforce_time_limit()
                self._stop.wait(self.conf.heartbeat_seconds)
        finally:
            connections.close_all()

    def _beat(self) -> None:
        current = self._current
        fields = {"stopping": not self.running, "task_id": "", "task_started_at": None}
        if current is not None:
            fields["task_id"] = str(current[0].pk)
            fields["task_started_at"] = current[0].started_at or timezone.now()
        leases.beat(self.worker_id, **fields)

    def _enforce_time_limit(self) -> None:
        limit, grace = self.conf.time_limit_seconds, self.conf.time_limit_grace_seconds
        with self._lock:
            if self._current is None:
                return
            result, started = self._current
            elapsed = time.monotonic() - started
            if elapsed > limit and not self._interrupted:
                self._interrupted = True
                logger.error(
                    "task %s ran over its time limit (%.0f s): stopping it", result.pk, limit
                )
                raise_in_thread(self._main_thread_id, leases.JobTimeLimitExceeded)
                return
        if self._interrupted and elapsed > limit + grace:
            leases.abandon(
                result,
                leases.TIME_LIMIT,
                f"ran over the time limit of {limit:.0f} s and did not stop; worker restarted",
            )
            leases.unregister_worker(self.worker_id)
            logger.critical("task %s did not stop: the worker exits", result.pk)
            os._exit(EXIT_TIME_LIMIT)

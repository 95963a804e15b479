from django.db import models


class WorkerHeartbeat(models.Model):
    """One running task worker (`pesiar db_worker`), renewed every few seconds.

    A task's lease is its worker's heartbeat: a RUNNING task whose worker has not beaten
    within the lease is abandoned (see pesiar.ops.leases)."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)
    task_id = models.CharField(max_length=64, blank=True)
    task_started_at = models.DateTimeField(null=True, blank=True)
    stopping = models.BooleanField(default=False)

    class Meta:
        ordering = ["-beat_at"]

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.hostname} (pid {self.pid})"

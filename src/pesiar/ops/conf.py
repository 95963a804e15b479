"""The operations settings (settings.PESIAR["WORKER"] and ["SERVER"]), with their defaults."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class WorkerSettings:
    heartbeat_seconds: float = 5.0  # how often a worker renews its heartbeat
    lease_seconds: float = 60.0  # a worker silent this long is dead; /healthz is 503
    time_limit_seconds: float = 3600.0  # a task running longer is stopped and FAILED
    time_limit_grace_seconds: float = 30.0  # then the worker process exits (and restarts)
    upload_orphan_hours: float = 6.0  # uploads no unfinished job uses, older than this, go
    housekeeping_seconds: float = 600.0  # how often the idle worker does housekeeping


@dataclass(frozen=True)
class ServerSettings:
    bind: str = "127.0.0.1:8000"
    workers: int = 2
    threads: int = 4
    timeout: int = 120  # seconds a request may take before its worker is restarted


def worker_settings() -> WorkerSettings:
    return WorkerSettings(**getattr(settings, "PESIAR", {}).get("WORKER", {}))


def server_settings() -> ServerSettings:
    return ServerSettings(**getattr(settings, "PESIAR", {}).get("SERVER", {}))

"""The production web server: gunicorn with threaded workers, serving pesiar.wsgi."""

import os
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from gunicorn.app.base import BaseApplication


def pending_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The migrations not yet applied to the database, as `app.name`."""
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def gunicorn_options(bind: str, workers: int, threads: int, timeout: int) -> dict[str, Any]:
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,
        "graceful_timeout": 30,
        "keepalive": 5,
        # Restart a web worker now and then, so no slow leak grows without bound.
        "max_requests": 2000,
        "max_requests_jitter": 200,
        "accesslog": None,  # requests are logged by pesiar.ops.requestlog, as JSON
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "pesiar",
        # Which proxies may set X-Forwarded-* (see docs/deploy.md).
        "forwarded_allow_ips": os.environ.get("PESIAR_FORWARDED_ALLOW_IPS") or "127.0.0.1",
        "preload_app": False,
        # gunicorn 24+: no control socket in $HOME (one per instance would clash).
        "control_socket_disable": True,
    }


class PesiarServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings a gunicorn version lacks are left out
                self.cfg.set(key, value)

    def load(self):
        from pesiar.wsgi import application

        return application


def serve(options: dict[str, Any]) -> None:
    connections.close_all()  # nothing open across the fork
    PesiarServer(options).run()

"""`pesiar db_worker`: django-tasks-db's worker with a heartbeat, task leases, a run-time
limit and housekeeping (pesiar.ops.worker). Same options; no autoreload unless asked."""

import os

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as BaseWorkerCommand

from pesiar.ops.worker import PesiarWorker


class Command(BaseWorkerCommand):
    help = (
        "Run the task worker (register imports from the web). It beats a heartbeat, fails "
        "the tasks of dead workers, stops tasks over the time limit, removes orphaned "
        "uploads; SIGTERM finishes the current task, then stops."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(reload=False)

    def handle(self, *, verbosity: int, **options) -> None:
        self.configure_logging(verbosity)
        if options["reload"] and options["batch"]:
            options["reload"] = False
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = PesiarWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        if options["reload"]:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()

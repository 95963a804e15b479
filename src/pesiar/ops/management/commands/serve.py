"""`pesiar serve`: the production web server (gunicorn), see docs/deploy.md."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from pesiar.ops.conf import server_settings
from pesiar.ops.server import gunicorn_options, pending_migrations, serve


class Command(BaseCommand):
    help = (
        "Serve Pesiar with gunicorn (threaded workers, static files through WhiteNoise, "
        "one JSON log line per request). Refuses to start on a database with migrations "
        "not applied, unless --migrate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        conf = server_settings()
        parser.add_argument("--bind", default=conf.bind, help="host:port (default %(default)s)")
        parser.add_argument("--workers", type=int, default=conf.workers)
        parser.add_argument("--threads", type=int, default=conf.threads)
        parser.add_argument("--timeout", type=int, default=conf.timeout)
        parser.add_argument("--migrate", action="store_true", help="apply pending migrations first")
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="do not collect the static files into STATIC_ROOT at start",
        )

    def handle(self, *args, bind, workers, threads, timeout, migrate, no_collectstatic, **opts):
        if workers < 1 or threads < 1:
            raise CommandError("--workers and --threads must be at least 1")
        try:
            pending = pending_migrations()
        except DatabaseError as exc:
            raise CommandError(f"cannot reach the database (DATABASE_URL): {exc}") from exc
        if pending and migrate:
            call_command("migrate", interactive=False, verbosity=1)
        elif pending:
            shown = ", ".join(pending[:5]) + (" …" if len(pending) > 5 else "")
            raise CommandError(
                f"the database has {len(pending)} migration(s) not applied ({shown}): "
                "run `pesiar migrate` first, or `pesiar serve --migrate`"
            )
        if not no_collectstatic:
            call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(
            f"Pesiar serving on http://{bind}/ ({workers} workers, {threads} threads each)"
        )
        self.stdout.flush()
        serve(gunicorn_options(bind, workers, threads, timeout))

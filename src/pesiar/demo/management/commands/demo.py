import signal
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pesiar.demo import services
from pesiar.ops.supervise import Supervisor


class Command(BaseCommand):
    help = (
        "Set up and serve the demo: database, regions, the Jambi scenario and Kabupaten OKU "
        "Selatan's (with its campaign on five focus villages), the pipeline steps and the demo "
        "accounts; then serve the site on 127.0.0.1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--population", type=int, default=services.DEMO_POPULATION)
        parser.add_argument("--seed", type=int, default=services.DEMO_SEED)
        parser.add_argument(
            "--oku-population",
            type=int,
            default=services.OKU_POPULATION,
            help="Residents of the OKU Selatan scenario (0: leave it out).",
        )
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Set everything up, then stop.")

    def handle(
        self,
        *args,
        population: int,
        seed: int,
        oku_population: int,
        port: int,
        no_serve: bool,
        **options,
    ):
        say = self.stdout.write
        say("Preparing the database ...")
        call_command("migrate", interactive=False, verbosity=0)
        say("Loading the Kemendagri region list ...")
        report = services.ensure_regions()
        say("  " + ("; ".join(report.lines()) if report.changed else "already loaded"))
        say(f"Scenario: province Jambi, {population:,} residents, seed {seed} ...")
        scenario, made = services.ensure_scenario(population, seed)
        say(f"  {'generated' if made else 'reused'}: {scenario.out_dir}")
        demo = services.Demo(scenario)
        if oku_population:
            say(f"Scenario: Kabupaten OKU Selatan, {oku_population:,} residents ...")
            try:
                demo.oku, made = services.ensure_oku(scenario, oku_population, seed)
            except ValueError as exc:
                raise CommandError(f"--oku-population: {exc} (or 0 to leave it out)") from exc
            say(f"  {'generated' if made else 'reused'}: {demo.oku.out_dir}")
        services.run_pipeline(demo, lambda message: say(f"  {message}"))
        accounts = services.ensure_accounts(demo)
        url = f"http://127.0.0.1:{port}/"
        say("")
        say(self.style.SUCCESS(f"Pesiar demo: {url}"))
        say("Logins (password for all: " + services.DEMO_PASSWORD + "):")
        for account in accounts:
            say(f"  {account.username:<15} {account.description}")
        say(f"Data folder: {settings.DATA_DIR}")
        if no_serve:
            return
        settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
        # Imports started from the web run in the task worker, a process of its own, started
        # again whenever it ends (killed, out of memory, over a task's time limit).
        worker = Supervisor([sys.executable, "-m", "pesiar", "db_worker"], name="import worker")
        worker.start()
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the worker too
        say("Import worker started. Press Ctrl+C to stop.")
        try:
            call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
        finally:
            worker.stop(timeout=10)

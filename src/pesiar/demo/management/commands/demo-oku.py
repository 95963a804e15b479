from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from pesiar.demo import oku
from pesiar.demo.generator.oku import OkuScenario, generate_oku
from pesiar.demo.services import DEMO_PASSWORD


class Command(BaseCommand):
    help = (
        "Add the OKU Selatan scenario to the demo: generate (or reuse) its monthly registers, "
        "import and map every date, the launch campaign with its agents and their "
        "registrations, and the worklists of the last date."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--population", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=2024)

    def handle(self, *args, population: int, seed: int, **options) -> None:
        from pesiar.sweep.pipeline import run_sweep

        say = self.stdout.write
        out = Path(settings.DATA_DIR) / "demo" / f"oku-{population}-{seed}"
        if (out / "scenario.json").exists():
            scenario = OkuScenario.load(out)
            say(f"OKU Selatan scenario reused: {out}")
        else:
            scenario = generate_oku(population, seed, out)
            say(f"OKU Selatan scenario generated: {out}")
        campaign = oku.load(scenario, lambda message: say(f"  {message}"))
        sweep = run_sweep(scenario.dates[-1])
        say(f"  sweep #{sweep.pk}: {sweep.counts['families']:,} families on the worklists")
        oku.set_passwords(DEMO_PASSWORD)
        say(self.style.SUCCESS(f"Campaign: {campaign.name} (#{campaign.pk})"))
        say(f"Logins (password {DEMO_PASSWORD}): {', '.join(oku.LOGINS)}")

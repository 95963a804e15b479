from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pesiar.demo.generator import generate
from pesiar.demo.generator.calibration import AS_OF
from pesiar.demo.generator.scenario import NOISE_PROFILES


class Command(BaseCommand):
    help = (
        "Write a synthetic but realistic scenario for province Jambi: the population, "
        "membership and social-list registers, and their ground truth."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--population", type=int, default=100_000, help="Living residents.")
        parser.add_argument("--seed", type=int, default=1, help="Same seed and size, same bytes.")
        parser.add_argument("--out", type=Path, required=True, help="Folder to write into.")
        parser.add_argument(
            "--as-of", type=date.fromisoformat, default=AS_OF, help="Snapshot date (YYYY-MM-DD)."
        )
        parser.add_argument(
            "--noise",
            choices=NOISE_PROFILES,
            default="default",
            help="Noise profile of the membership extract: the calibrated default, or hard "
            "(titles, BIN/BINTI, initials, word order, transposed and invalid NIKs, default "
            "birth dates, moves, relatives' NIKs, two cards on one NIK).",
        )

    def handle(
        self,
        *args,
        population: int,
        seed: int,
        out: Path,
        as_of: date,
        noise: str = "default",
        **options,
    ):
        from rich.console import Console

        console = Console(file=self.stdout, stderr=False)
        with console.status("Generating") as status:
            try:
                scenario = generate(
                    population,
                    seed,
                    out,
                    as_of=as_of,
                    noise=noise,
                    progress=lambda step: status.update(f"Generating: {step}"),
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        for kind, rows in scenario.rows.items():
            self.stdout.write(f"{kind:<11} {rows:>10,} rows  {scenario.path(kind)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Scenario of {population:,} residents (seed {seed}, as of {as_of}) written to "
                f"{out} in {scenario.seconds:.1f} s; ground truth in {out / 'truth'}."
            )
        )

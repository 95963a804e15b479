import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pesiar.regions.builtin import ATTRIBUTION
from pesiar.regions.services import RegionFileError, load_regions


class Command(BaseCommand):
    help = "Manage the region tree (Kemendagri codes)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser(
            "load",
            help="Load the built-in Kemendagri list, or a CSV file / four-file folder.",
        )
        load.add_argument(
            "source",
            nargs="?",
            type=Path,
            help="CSV with columns code,name[,level,parent_code], or a folder with "
            "provinces.csv, regencies.csv, districts.csv, villages.csv. "
            "Default: the built-in list.",
        )
        load.add_argument("--within", help="Only this region and what lies under it, e.g. 15.")

    def handle(self, *args, action: str, **options) -> None:
        if action == "load":
            self.load(options["source"], options["within"])

    def load(self, source: Path | None, within: str | None) -> None:
        started = time.perf_counter()
        try:
            report = load_regions(source, within=within)
        except RegionFileError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
        elapsed = time.perf_counter() - started
        if report.changed:
            self.stdout.write(self.style.SUCCESS(f"Regions loaded in {elapsed:.1f} s."))
        else:
            self.stdout.write(f"Nothing changed: the regions were already loaded ({elapsed:.1f} s)")
        if source is None:
            self.stdout.write(ATTRIBUTION)

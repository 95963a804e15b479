from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pesiar.monev.boundary_files import import_boundaries, load_shipped
from pesiar.monev.geo import BoundaryFileError


class Command(BaseCommand):
    help = (
        "Import region outlines (GeoJSON or TopoJSON, gzip or not) for the Monev map; "
        "without FILE, the outlines shipped with Pesiar (Jambi and Indonesia)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file",
            nargs="?",
            type=Path,
            help="GeoJSON or TopoJSON; each feature names its region in a property such as "
            "kode, code or KODE_DESA (dotted or not). Default: the shipped outlines.",
        )
        parser.add_argument("--within", help="Only features inside this region, e.g. 15.02.")
        parser.add_argument(
            "--tolerance",
            type=float,
            default=0.0005,
            help="Simplification tolerance in degrees (default 0.0005, about 55 m).",
        )

    def handle(self, *args, file: Path | None, within: str | None, tolerance: float, **opts):
        if file is None:
            for name, report in load_shipped(within=within).items():
                self.stdout.write(f"{name}:")
                for line in report.lines()[:1]:
                    self.stdout.write(f"  {line}")
            return
        try:
            report = import_boundaries(file, within=within, tolerance=tolerance)
        except BoundaryFileError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
        if not report.matched:
            raise CommandError("no feature matched a region code")

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pesiar.regions.models import Region, within_q
from pesiar.sweep.services import member_rows, open_items, write_csv, write_xlsx


class Command(BaseCommand):
    help = (
        "Export the open family worklists inside a region, one row per family member, with "
        "full NIK and KK (the operator's tool: keep the file safe)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--within", required=True, metavar="CODE", help="Region code.")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--out", type=Path, help="File to write (CSV: default stdout).")

    def handle(self, *args, format: str, out: Path | None, **options) -> None:
        code = options["within"]
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise CommandError(f"unknown region code {code!r} (e.g. 15.02 or 15.02.05.2001)")
        items = open_items(None).filter(within_q(code, "village__code"))
        rows = member_rows(items, None)
        if format == "xlsx":
            if out is None:
                raise CommandError("--format xlsx needs --out FILE")
            n = write_xlsx(rows, out, title=f"{region.code} {region.name}")
        elif out is None:
            n = write_csv(rows, sys.stdout)
        else:
            with out.open("w", encoding="utf-8", newline="") as stream:
                n = write_csv(rows, stream)
        self.stderr.write(f"{n:,} members of {items.count():,} families in {region}")

import csv
import json
import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pesiar.coverage.models import Indicator
from pesiar.regions.codes import within_q
from pesiar.regions.models import Level

COLUMNS = [
    "code",
    "name",
    "population",
    "registered",
    "active",
    "coverage_pct",
    "active_pct",
    "to_target_coverage",
    "to_target_active",
    "rank",
    "rank_of",
    "uhc_class",
    "unmatched_participants",
    "deceased_listed",
]
LEVELS = {
    "province": Level.PROVINCE,
    "regency": Level.REGENCY,
    "district": Level.DISTRICT,
    "village": Level.VILLAGE,
}


class Command(BaseCommand):
    help = "Coverage and activity figures per region (from the latest `pesiar map`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
        parser.add_argument("--level", choices=list(LEVELS), default="village")
        parser.add_argument("--within", help="Only regions inside this code, e.g. 15.02.")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")

    def handle(self, *args, as_of: date, level: str, within: str | None, **options) -> None:
        rows = Indicator.objects.unscoped(reason="command line: the operator's own tool")
        latest = rows.filter(as_of__lte=as_of).order_by("-as_of").values_list("as_of", flat=True)
        found = latest.first()
        if found is None:
            raise CommandError(f"no indicators on or before {as_of}: run `pesiar map --as-of`")
        if found != as_of:
            self.stderr.write(f"indicators of {found} (the latest before {as_of})")
        rows = rows.filter(as_of=found, level=LEVELS[level]).select_related("region")
        if within:
            rows = rows.filter(within_q(within, "region__code"))
        data = [
            {
                "code": i.region_id,
                "name": i.region.name,
                **{c: getattr(i, c) for c in COLUMNS[2:]},
                "segments": i.segments,
                "inactive_reasons": i.inactive_reasons,
            }
            for i in rows.order_by("region_id")
        ]
        fmt = options["format"]
        if fmt == "json":
            self.stdout.write(json.dumps(data, default=str, ensure_ascii=False, indent=1))
        elif fmt == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(COLUMNS)
            for row in data:
                writer.writerow([row[c] if row[c] is not None else "" for c in COLUMNS])
        else:
            self.table(data)

    def table(self, data: list[dict]) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(show_lines=False)
        for column in COLUMNS[:10]:
            table.add_column(column, justify="left" if column in ("code", "name") else "right")
        for row in data:
            table.add_row(
                *[
                    f"{row[c]:,}" if isinstance(row[c], int) else str(row[c] or "")
                    for c in COLUMNS[:10]
                ]
            )
        Console(file=self.stdout if self.stdout else sys.stdout, width=160).print(table)

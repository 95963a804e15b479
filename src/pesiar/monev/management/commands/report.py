from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pesiar.accounts.models import User
from pesiar.monev import report as reports
from pesiar.monev import services
from pesiar.regions.models import Region


class Command(BaseCommand):
    help = (
        "Write the Monev meeting report of a region and date (Bahasa Indonesia) as PDF or XLSX: "
        "headline figures, ranking, map, trend, lowest and highest villages, agents, PBI budget."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--region", default="", help="Region code, e.g. 15.02 (default: all of Indonesia)."
        )
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            help="Date of the figures, YYYY-MM-DD (default: the latest; an earlier date with "
            "figures is used when the date has none).",
        )
        parser.add_argument("--format", choices=sorted(reports.FORMATS), default="pdf")
        parser.add_argument("--out", type=Path, help="Output file (default: monev-CODE-DATE.EXT).")
        parser.add_argument(
            "--user",
            help="Report as this user (their scope; the sweep's and the field's sections need "
            "a user). Default: the operator, every region.",
        )

    def handle(
        self,
        *args,
        region: str,
        as_of: date | None,
        format: str,
        out: Path | None,
        user: str | None,
        **options,
    ) -> None:
        code = region.strip()
        if code and not Region.objects.filter(code=code).exists():
            raise CommandError(f"unknown region code {code!r} (dotted, e.g. 15.02)")
        who = None
        if user:
            who = User.objects.filter(username=user, is_active=True).first()
            if who is None:
                raise CommandError(f"no active user {user!r}")
            if not services.can_view(who, code):
                raise CommandError(f"{code or 'Indonesia'} is outside {user}'s scope")
        used = services.resolve_as_of(who, as_of)
        if used is None:
            raise CommandError("there are no figures yet: run `pesiar map --as-of DATE` first")
        if as_of and used != as_of:
            self.stderr.write(f"No figures on {as_of}; using {used}.")
        try:
            content, _type, filename = reports.export(who, code, used, format)
        except reports.ReportError as exc:
            raise CommandError(str(exc)) from exc
        target = out or Path(filename)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        self.stdout.write(
            self.style.SUCCESS(f"Report written: {target} ({len(content):,} bytes, {format})")
        )

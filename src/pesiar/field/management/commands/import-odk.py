from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pesiar.accounts.models import User
from pesiar.field.odk_import import import_submissions


class Command(BaseCommand):
    help = "Read an ODK submissions CSV export back as visits (idempotent on the instanceID)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--agent", default="", help="agent for rows without a known username")

    def handle(self, file, agent, **options):
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        default = None
        if agent:
            default = User.objects.filter(username=agent, is_active=True).first()
            if default is None:
                raise CommandError(f"no active user {agent!r}")
        result = import_submissions(file, default_agent=default)
        for problem in result.problems:
            self.stderr.write(problem)
        self.stdout.write(
            f"{result.read} submissions: {result.created} visits recorded, "
            f"{result.registrations} registrations recorded, "
            f"{result.already} already recorded, {len(result.problems)} skipped"
        )

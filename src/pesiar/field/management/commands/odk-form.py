from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pesiar.accounts.models import User
from pesiar.field.odk import write_form_files
from pesiar.field.services import overlaps_scope
from pesiar.regions.models import Region


class Command(BaseCommand):
    help = "Write the ODK Collect form (form.xlsx) with worklist.csv and members.csv for a region."

    def add_arguments(self, parser):
        parser.add_argument("--within", required=True, help="region code, e.g. 15.02.05.1002")
        parser.add_argument("--out", required=True, type=Path, help="folder to write into")
        parser.add_argument(
            "--as-user", default="", help="write what this user sees (default: an admin's view)"
        )

    def handle(self, within, out, as_user, **options):
        if not Region.objects.filter(code=within).exists():
            raise CommandError(f"unknown region code {within!r}")
        user = (
            User.objects.filter(username=as_user).first()
            if as_user
            else User.objects.filter(role="admin", is_active=True).first()
        )
        if user is None:
            raise CommandError(
                "no such user (give --as-user USERNAME; an admin user is the default)"
            )
        if not overlaps_scope(user, within):
            raise CommandError(f"{within} is outside {user}'s scope")
        families = write_form_files(user, within, out)
        self.stdout.write(f"form.xlsx, worklist.csv and members.csv in {out}: {families} families")

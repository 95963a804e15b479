import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pesiar.accounts.models import User
from pesiar.field.central import Central, CentralError, publish_worklist
from pesiar.field.odk import FORM_ID
from pesiar.field.odk_import import import_submissions
from pesiar.field.services import overlaps_scope


class Command(BaseCommand):
    help = (
        "Publish the ODK form, its worklist and the families' entity list to an ODK Central "
        "server (--publish), or read its submissions export back (--pull). The password comes "
        "from PESIAR_CENTRAL_PASSWORD."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="e.g. https://central.example.org")
        parser.add_argument("--email", required=True, help="the Central web user")
        parser.add_argument("--project", type=int, default=1)
        parser.add_argument("--within", default="", help="region code of the families")
        parser.add_argument("--as-user", required=True, help="the Pesiar user whose view is sent")
        parser.add_argument("--pull", action="store_true", help="import the submissions instead")

    def handle(self, url, email, project, within, as_user, pull, **options):
        password = os.environ.get("PESIAR_CENTRAL_PASSWORD", "")
        if not password:
            raise CommandError("set PESIAR_CENTRAL_PASSWORD to the Central user's password")
        user = User.objects.filter(username=as_user, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {as_user!r}")
        central = Central(url=url, email=email, password=password, project=project)
        try:
            if pull:
                data = central.submissions_zip(FORM_ID)
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "submissions.csv.zip"
                    path.write_bytes(data)
                    result = import_submissions(path, default_agent=user)
                for problem in result.problems:
                    self.stderr.write(problem)
                self.stdout.write(
                    f"{result.read} submissions: {result.created} visits, "
                    f"{result.registrations} registrations, {result.already} already recorded, "
                    f"{len(result.problems)} skipped"
                )
                return
            if not within or not overlaps_scope(user, within):
                raise CommandError(f"give --within, a region in {user}'s scope")
            sent = publish_worklist(central, user, within)
        except CentralError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"form {sent['form']} version {sent['version']} published with "
            f"{sent['families']} families ({sent['entities']} entities)"
        )

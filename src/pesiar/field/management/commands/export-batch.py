from django.core.management.base import BaseCommand, CommandError

from pesiar.accounts.models import User
from pesiar.field.services import FieldError, batch_folder, export_batch


class Command(BaseCommand):
    help = "Export the submitted registration requests inside a region as a batch for BPJS."

    def add_arguments(self, parser):
        parser.add_argument("--within", required=True)
        parser.add_argument("--as-user", required=True, help="the officer making the batch")

    def handle(self, within, as_user, **options):
        user = User.objects.filter(username=as_user, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {as_user!r}")
        try:
            batch = export_batch(user, within)
        except FieldError as exc:
            raise CommandError(str(exc)) from exc
        if batch is None:
            self.stdout.write("no submitted registrations to export")
            return
        folder = batch_folder(batch)
        self.stdout.write(f"batch {batch.pk}: {batch.people} people in {folder}")

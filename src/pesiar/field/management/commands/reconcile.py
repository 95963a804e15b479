from django.core.management.base import BaseCommand

from pesiar.field.reconcile import reconcile_latest


class Command(BaseCommand):
    help = "Check exported registration requests against the latest membership snapshot."

    def handle(self, **options):
        counts = reconcile_latest()
        self.stdout.write(str(counts or "no membership snapshot"))

from django.core.management.base import BaseCommand, CommandError

from pesiar.accounts.models import User
from pesiar.field.models import ApiToken


class Command(BaseCommand):
    help = "Make an API token for USERNAME and print it (shown once; only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for, e.g. 'phone'")

    def handle(self, username, name, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        _token, key = ApiToken.issue(user, name=name)
        self.stdout.write(key)

import getpass
import os
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from pesiar.accounts.models import Office, Role
from pesiar.accounts.services import (
    AccountError,
    create_user,
    parse_office,
    parse_role,
    scope_regions,
)


class Command(BaseCommand):
    help = (
        "Create a user with a role and region scopes. The password comes from the "
        "PESIAR_PASSWORD environment variable, else it is asked for."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help=f"One of: {', '.join(Role.values)}.")
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            metavar="CODE",
            help="A region code the user is responsible for (repeat for several): a province "
            "for province officers, regencies for regency and BPJS branch officers, villages "
            "for agents, any level for viewers; none for the national administrator.",
        )
        parser.add_argument(
            "--office",
            help=f"Pemda office of a province/regency officer: {', '.join(Office.values)}.",
        )
        parser.add_argument("--email", default="")

    @no_translations  # the command line speaks English
    def handle(self, *args, username: str, role: str, scope: list[str], **options) -> None:
        try:
            # Everything but the password first, so a wrong role or code fails before a prompt.
            parsed_role = parse_role(role)
            parse_office(options["office"], parsed_role)
            scope_regions(parsed_role, scope)
        except AccountError as exc:
            raise CommandError(str(exc)) from exc
        password = os.environ.get("PESIAR_PASSWORD") or self.ask_password()
        try:
            user = create_user(
                username,
                role=role,
                scopes=scope,
                password=password,
                office=options["office"],
                email=options["email"],
            )
        except AccountError as exc:
            raise CommandError(str(exc)) from exc
        scopes = " ".join(user.scopes.values_list("region_id", flat=True)) or "national"
        self.stdout.write(
            self.style.SUCCESS(f"Created {user.username}: {user.get_role_display()}, {scopes}")
        )

    def ask_password(self) -> str:
        if not sys.stdin.isatty():
            raise CommandError("no password: set PESIAR_PASSWORD or run in a terminal")
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password (again): ")
        if first != second:
            raise CommandError("the passwords do not match")
        if not first:
            raise CommandError("the password is empty")
        return first

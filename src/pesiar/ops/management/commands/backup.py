"""`pesiar backup OUT`: the database and the data folder, with a checksum manifest."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pesiar.ops.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up this instance into the new folder OUT: a database dump (SQLite copy or "
        "pg_dump) and the data folder's snapshots, with size and SHA-256 of every file in "
        "manifest.json. See docs/deploy.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="a folder that does not exist yet (or is empty)")

    def handle(self, *args, out: str, **options) -> None:
        try:
            report = backup(out)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"backup of the {report.engine} database and data folder in {report.folder}: "
            f"{report.files:,} files, {report.bytes / 1e6:,.1f} MB (manifest.json)"
        )

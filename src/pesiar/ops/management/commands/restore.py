"""`pesiar restore IN`: a backup of `pesiar backup` into this empty instance."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pesiar.ops.backup import BackupError, read_manifest, restore, verify
from pesiar.ops.server import pending_migrations


class Command(BaseCommand):
    help = (
        "Restore a backup folder (from `pesiar backup`) into this instance, whose database "
        "and data folder must be empty. Every checksum is verified first; --check only "
        "verifies."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", metavar="IN", help="the backup folder")
        parser.add_argument(
            "--check", action="store_true", help="verify the checksums, restore nothing"
        )

    def handle(self, *args, folder: str, check: bool, **options) -> None:
        try:
            if check:
                manifest = read_manifest(folder)
                problems = verify(folder, manifest)
                if problems:
                    raise BackupError("; ".join(problems[:20]))
                self.stdout.write(f"{folder}: {len(manifest['files']):,} files, all intact")
                return
            report = restore(folder)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"restored {report.files:,} files ({report.bytes / 1e6:,.1f} MB) from {folder}"
        )
        pending = pending_migrations()
        if pending:
            self.stdout.write(
                f"the backup is from an older version: run `pesiar migrate` "
                f"({len(pending)} migrations to apply)"
            )

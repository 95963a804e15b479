import json
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pesiar.registers.profiles import PROFILES
from pesiar.registers.schema import Kind
from pesiar.registers.services import RegisterImportError, import_register


class Command(BaseCommand):
    help = (
        "Import a register extract (CSV, XLS/XLSX/XLSM/ODS, JSON or Parquet) as the "
        "validated, immutable snapshot of KIND on --as-of."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=[k.value for k in Kind])
        parser.add_argument("file", type=Path)
        parser.add_argument("--as-of", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
        parser.add_argument("--mapping", type=Path, help="TOML or YAML: source column = canonical")
        parser.add_argument(
            "--format",
            dest="format_name",
            choices=[p.name for p in PROFILES],
            help="The file's format profile (default: detected from the header).",
        )
        parser.add_argument(
            "--village",
            metavar="CODE",
            help="The village of a file that does not name it (OpenSID), e.g. 15.02.05.1002.",
        )
        parser.add_argument(
            "--replace", action="store_true", help="Replace the snapshot of this kind and date."
        )
        parser.add_argument(
            "--json", action="store_true", help="End with one JSON line with the counts."
        )
        parser.add_argument(
            "--scope",
            default="",
            metavar="CODE",
            help="The region the file covers (rows outside it are rejected); default nation-wide.",
        )

    def handle(
        self,
        *args,
        kind: str,
        file: Path,
        as_of: date,
        mapping: Path | None,
        replace: bool,
        **options,
    ) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        with Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as bar:
            tasks: dict[str, int] = {}

            def progress(label: str, fraction: float | None) -> None:
                if label not in tasks:
                    tasks[label] = bar.add_task(label, total=1.0)
                if fraction is not None:
                    bar.update(tasks[label], completed=fraction)

            try:
                result = import_register(
                    kind,
                    file,
                    as_of,
                    mapping_file=mapping,
                    replace=replace,
                    scope=options["scope"],
                    progress=progress,
                    format_name=options.get("format_name"),
                    village=options.get("village"),
                )
            except RegisterImportError as exc:
                raise CommandError(str(exc)) from exc
        self.report(result)
        if options["json"]:
            self.stdout.write(_json_line(result.as_dict()))

    def report(self, result) -> None:
        say = self.stdout.write
        if result.duplicate_of is not None:
            say(f"Already imported: this file is snapshot #{result.duplicate_of}; nothing changed.")
            return
        say(f"detected: {result.profile}")
        say(
            f"{result.kind} {result.as_of} from {result.source}: snapshot #{result.snapshot_id}"
            + (f" (replaces #{result.replaced})" if result.replaced else "")
        )
        say(
            f"  rows read {result.rows_read:,} = accepted {result.accepted:,} + rejected "
            f"{result.rejected:,}; accepted with warnings {result.warnings:,}"
        )
        for code, info in result.reasons.items():
            say(f"  {info['severity']:<7} {code:<24} {info['rows']:>10,} rows")
        for note in result.notes:
            say(f"  note: {note}")
        if result.ignored_columns:
            say(f"  ignored columns: {', '.join(result.ignored_columns)}")
        if result.rejects_file:
            say(f"  rejected rows, with line, reason and message: {result.rejects_file}")
        say(f"  {result.seconds:.1f} s")


def _json_line(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False)

"""Importing a register extract as an immutable snapshot.

Steps: read the source (format, encoding, delimiter, header mapping; `intake`) -> load it
into DuckDB (a memory limit, spilling to the staging folder beyond it; `reading`) -> validate
every row in SQL and write accepted rows to Parquet and rejects to CSV in a staging folder
(`writing`) -> in one database transaction, record the snapshot and move its folder into
place (`folders`) -> tell the apps above (`signals.snapshot_imported`).
"""

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from pesiar.registers import intake
from pesiar.registers.folders import Staging, cleanup_orphans, file_sha256, registers_root
from pesiar.registers.limits import ImportLimitError
from pesiar.registers.models import Finding, Snapshot
from pesiar.registers.reading import Progress
from pesiar.registers.schema import Kind
from pesiar.registers.signals import snapshot_imported
from pesiar.registers.snapshots import ImportScopeError, import_scope
from pesiar.registers.sources import SourceError
from pesiar.registers.writing import validate_to_parquet

logger = logging.getLogger(__name__)

__all__ = [
    "ImportResult",
    "RegisterImportError",
    "cleanup_orphans",
    "import_register",
    "registers_root",
]


class RegisterImportError(ValueError):
    """An import that cannot go ahead; nothing was written."""


@dataclass
class ImportResult:
    kind: str
    as_of: str
    source: str
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    warnings: int = 0
    snapshot_id: int | None = None
    duplicate_of: int | None = None
    replaced: int | None = None
    reasons: dict[str, dict] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    format: str = ""
    profile: str = ""  # the format profile used ("OpenSID import template")
    notes: list[str] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    rejects_file: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Request:
    """One import asked for: the file, the register and date, and how to read it."""

    kind: Kind
    path: Path
    as_of: date
    scope: str
    user: object = None
    mapping_file: Path | None = None
    format_name: str | None = None
    village: str | None = None

    @property
    def reading(self) -> dict:
        """How to read the file, as intake.prepare and intake.preview take it."""
        return {
            "mapping_file": self.mapping_file,
            "format_name": self.format_name,
            "village": self.village,
        }


def import_register(
    kind: str,
    path: Path,
    as_of: date,
    *,
    mapping_file: Path | None = None,
    replace: bool = False,
    user=None,
    scope: str | None = None,
    progress: Progress | None = None,
    format_name: str | None = None,
    village: str | None = None,
) -> ImportResult:
    """Import one register file as the snapshot of `kind` on `as_of` for region `scope`
    (see `snapshots.import_scope`: an officer's own region, rows outside it rejected).

    `format_name` names a profile (else it is detected from the header); `village` is the
    village of a file that does not name it (OpenSID)."""
    started = time.perf_counter()
    kind, scope = checked_kind_and_scope(kind, user, scope)
    request = Request(kind, Path(path), as_of, scope, user, mapping_file, format_name, village)
    if not request.path.is_file():
        raise RegisterImportError(f"{request.path}: no such file")
    result = ImportResult(kind=kind.value, as_of=as_of.isoformat(), source=request.path.name)
    say = progress or (lambda _label, _fraction: None)
    say("checksum", None)
    sha = file_sha256(request.path)
    current = Snapshot.objects.current().filter(kind=request.kind, as_of=as_of, scope=request.scope)
    same = current.filter(sha256=sha).first()
    if same is not None:
        result.duplicate_of = same.pk
        result.rows_read, result.accepted = same.rows_read, same.accepted
        result.rejected, result.warnings = same.rejected, same.warned
        result.seconds = time.perf_counter() - started
        return result
    existing = current.first()
    if existing is not None and not replace:
        refuse_existing(request, existing)
    snapshot = stage_and_record(request, result, sha, existing, progress)
    result.snapshot_id = snapshot.pk
    result.rejects_file = str(snapshot.rejects_file) if result.rejected else None
    result.seconds = time.perf_counter() - started
    summary = {**snapshot.summary, "seconds": round(result.seconds, 2)}
    summary.update(announce(snapshot))
    Snapshot.objects.filter(pk=snapshot.pk).update(summary=summary)
    return result


def checked_kind_and_scope(kind: str, user, scope: str | None) -> tuple[Kind, str]:
    """The register and the region the import covers, or RegisterImportError."""
    try:
        kind = Kind(kind)
    except ValueError as exc:
        raise RegisterImportError(
            f"unknown register {kind!r}; one of: {', '.join(k.value for k in Kind)}"
        ) from exc
    try:
        return kind, import_scope(user, kind, scope)
    except ImportScopeError as exc:
        raise RegisterImportError(str(exc)) from exc


def refuse_existing(request: Request, existing: Snapshot) -> None:
    """A snapshot of this date exists and no --replace: refuse. A file that cannot be read
    says so first (checked outside the data folder, which a refused import leaves untouched);
    the date's snapshot matters only then."""
    try:
        intake.preview(request.kind, request.path, **request.reading)
    except SourceError as exc:
        raise RegisterImportError(str(exc)) from exc
    raise RegisterImportError(
        f"a {request.kind} snapshot for {request.as_of} ({request.scope or 'nation-wide'}) "
        f"already exists (#{existing.pk}, from {existing.source_name}, imported "
        f"{existing.created_at:%Y-%m-%d %H:%M}); use --replace to replace it with this file"
    )


def stage_and_record(
    request: Request,
    result: ImportResult,
    sha: str,
    existing: Snapshot | None,
    progress: Progress | None,
) -> Snapshot:
    """Validate into a staging folder, then record the snapshot and move its folder into
    place in one transaction. Until the owner file goes, a cleanup by another import leaves
    the folder alone (its owner runs)."""
    staging = Staging.create(request.kind, request.as_of.isoformat())
    try:
        findings = stage(request, result, staging, progress)
        (progress or (lambda _label, _fraction: None))("commit", None)
        snapshot = record(request, result, sha, existing, staging, findings)
    except BaseException:
        staging.abandon()
        raise
    finally:
        staging.finish()
    staging.release()
    return snapshot


def stage(
    request: Request, result: ImportResult, staging: Staging, progress: Progress | None
) -> list[tuple]:
    """Read and validate the file into `staging.out`, filling `result`; the findings."""
    try:
        taken = intake.prepare(request.kind, request.path, staging.root, **request.reading)
    except SourceError as exc:
        raise RegisterImportError(str(exc)) from exc
    source, mapping = taken.source, taken.mapping
    result.profile, result.notes = taken.detected, taken.notes
    result.format, result.encoding = source.format, source.encoding
    result.delimiter = taken.delimiter if source.format == "csv" else ""
    result.columns = mapping.describe(source.header)
    result.ignored_columns = mapping.ignored
    try:
        counts, reasons, findings = validate_to_parquet(
            request.kind,
            request.as_of,
            source,
            mapping,
            staging.root,
            staging.out,
            progress,
            scope=request.scope,
        )
    except ImportLimitError as exc:
        raise RegisterImportError(str(exc)) from exc
    result.rows_read, result.accepted, result.rejected, result.warnings = counts
    result.reasons = reasons
    if result.rows_read != result.accepted + result.rejected:
        raise AssertionError(f"rows_read {counts[0]} != accepted + rejected for {request.path}")
    return findings


def record(
    request: Request,
    result: ImportResult,
    sha: str,
    existing: Snapshot | None,
    staging: Staging,
    findings: list[tuple],
) -> Snapshot:
    """The snapshot, its findings and its folder, in one transaction; the snapshot it
    replaces is superseded first, so that one current snapshot per date holds."""
    path = request.path
    with transaction.atomic():
        if existing is not None:
            Snapshot.objects.filter(pk=existing.pk).update(superseded_at=timezone.now())
        snapshot = Snapshot.objects.create(
            kind=request.kind,
            as_of=request.as_of,
            scope=request.scope,
            source_name=path.name[:255],
            sha256=sha,
            size_bytes=path.stat().st_size,
            rows_read=result.rows_read,
            accepted=result.accepted,
            rejected=result.rejected,
            warned=result.warnings,
            folder=staging.folder,
            summary={
                "profile": result.profile,
                "notes": result.notes,
                "reasons": result.reasons,
                "columns": result.columns,
                "ignored_columns": result.ignored_columns,
                "format": result.format,
                "encoding": result.encoding,
                "delimiter": result.delimiter,
            },
            created_by=request.user if getattr(request.user, "pk", None) else None,
        )
        if existing is not None:
            Snapshot.objects.filter(pk=existing.pk).update(superseded_by=snapshot)
            result.replaced = existing.pk
        Finding.objects.bulk_create(
            [
                Finding(snapshot=snapshot, village_code=v or "", code=c, severity=s, rows=n)
                for v, c, s, n in findings
            ],
            batch_size=2000,
        )
        staging.publish()  # the snapshot becomes visible only with this commit
    return snapshot


def announce(snapshot: Snapshot) -> dict:
    """Send `snapshot_imported` (the field app confirms registrations a membership snapshot
    shows); returns the summary entries the receivers give. The snapshot is in place
    whatever happens there: a receiver's failure is logged and recorded in the summary."""
    entries: dict = {}
    for receiver, answer in snapshot_imported.send_robust(sender=Snapshot, snapshot=snapshot):
        if isinstance(answer, Exception):
            name = getattr(receiver, "__qualname__", repr(receiver))
            logger.error("%s after snapshot #%s failed", name, snapshot.pk, exc_info=answer)
            entries.setdefault("errors", {})[name] = f"{type(answer).__name__}: {answer}"[:500]
        elif isinstance(answer, dict):
            entries.update(answer)
    return entries

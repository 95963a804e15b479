"""Batch files of submitted registration requests for BPJS (XLSX and CSV), made by those who
may carry full NIKs."""

import csv
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from pesiar.accounts.cells import csv_row, xlsx_row
from pesiar.accounts.models import AccessKind, Role, User
from pesiar.accounts.scoping import in_scope, require_personal_access
from pesiar.accounts.viewer import Viewer
from pesiar.field.models import (
    ExportBatch,
    RegistrationPerson,
    RegistrationRequest,
    RequestStatus,
)
from pesiar.field.submissions import FieldError, NotFound
from pesiar.regions.codes import within_q
from pesiar.regions.models import Region

BATCH_COLUMNS = [
    "batch", "request", "village_code", "village_name", "kk", "nik", "name", "sex",
    "birth_date", "relation", "segment", "class", "faskes_code", "agent", "submitted_at",
]  # fmt: skip


def batch_folder(batch: ExportBatch) -> Path:
    return Path(settings.DATA_DIR) / batch.folder


def can_make_batches(user: User) -> bool:
    """BPJS branch officers (and Dukcapil officers) make the batch files: they carry full NIKs."""
    return Viewer.of(user).full_identifiers and user.role != Role.AGENT


def export_batch(user: User, code: str) -> ExportBatch | None:
    """Put every SUBMITTED request inside `code` (and the user's scope) into a new batch for
    BPJS: batch-N.xlsx and batch-N.csv; the requests become EXPORTED. None when there is
    nothing to export. Logged as an export of the people listed."""
    require_personal_access(user)
    region = Region.objects.filter(code=code).first()
    if region is None or not in_scope(user, code):
        raise NotFound(_("region %(code)s is not in your scope") % {"code": code})
    if not can_make_batches(user):
        raise FieldError(
            _("batch files for BPJS carry full NIKs: BPJS branch officers (or Dukcapil) make them"),
            status=403,
        )
    with transaction.atomic():
        requests = list(
            RegistrationRequest.objects.for_user(user)
            .select_for_update(of=("self",))
            .filter(status=RequestStatus.SUBMITTED)
            .filter(within_q(code, "village__pk"))
            .select_related("agent", "village")
            .order_by("village_id", "submitted_at", "id")
        )
        if not requests:
            return None
        people = list(
            RegistrationPerson.objects.for_user(user)
            .filter(request__in=[r.pk for r in requests])
            .order_by("request_id", "id")
        )
        folder = Path("field") / "batches" / uuid.uuid4().hex
        batch = ExportBatch.objects.create(
            region=region,
            created_by=user,
            requests=len(requests),
            people=len(people),
            folder=str(folder),
        )
        by_request: dict[int, list[RegistrationPerson]] = defaultdict(list)
        for p in people:
            by_request[p.request_id].append(p)
        rows = [
            [
                batch.pk, r.pk, r.village_id, r.village.name, r.kk, p.nik, p.name,
                p.sex, p.birth_date.isoformat() if p.birth_date else "", p.relation, r.segment,
                r.jkn_class, r.faskes_code, r.agent.get_username(),
                timezone.localtime(r.submitted_at).isoformat(timespec="seconds")
                if r.submitted_at else "",
            ]
            for r in requests
            for p in by_request[r.pk]
        ]  # fmt: skip
        out = Path(settings.DATA_DIR) / folder
        out.mkdir(parents=True)
        write_batch_files(out, f"batch-{batch.pk}", rows)
        now = timezone.now()
        RegistrationRequest.objects.for_user(user).filter(pk__in=[r.pk for r in requests]).update(
            status=RequestStatus.EXPORTED, batch=batch, exported_at=now
        )
    Viewer.of(user).log(AccessKind.EXPORT, f"field batch {batch.pk}", rows=len(rows), region=code)
    return batch


def write_batch_files(out: Path, stem: str, rows: list[list[Any]]) -> None:
    """CSV and XLSX of the batch; typed-in text (faskes code, names) never becomes a formula."""
    with (out / f"{stem}.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(BATCH_COLUMNS)
        writer.writerows(csv_row(row) for row in rows)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("registrations")
    ws.append(BATCH_COLUMNS)
    for row in rows:
        # identifiers as text, so Excel keeps all 16 digits
        ws.append(xlsx_row(ws, [str(v) if i in (4, 5) else v for i, v in enumerate(row)]))
    wb.save(out / f"{stem}.xlsx")


def batch_file(user: User, pk: int, fmt: str) -> tuple[Path, int]:
    """The batch's file in `fmt` (xlsx/csv) and its row count, for a user who makes batches and
    whose scope holds the batch's region."""
    batch = ExportBatch.objects.for_user(user).filter(pk=pk).first()
    if batch is None or fmt not in ("xlsx", "csv") or not can_make_batches(user):
        raise NotFound(_("no batch file %(id)s.%(fmt)s in your scope") % {"id": pk, "fmt": fmt})
    return batch_folder(batch) / f"batch-{batch.pk}.{fmt}", batch.people

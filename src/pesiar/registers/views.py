"""Import pages: upload a register file, follow the import, read its summary and rejects."""

import re
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from pesiar.accounts.audit import log_access
from pesiar.accounts.models import AccessKind, Role
from pesiar.accounts.scoping import get_scope, require_personal_access
from pesiar.ops.leases import recover_abandoned
from pesiar.regions.models import is_within
from pesiar.registers.forms import KIND_LABELS, ImportForm
from pesiar.registers.labels import column_label, preview_rows
from pesiar.registers.limits import MB, max_upload_bytes
from pesiar.registers.models import Finding, ImportJob, Snapshot
from pesiar.registers.snapshots import ImportScopeError, import_scope
from pesiar.registers.tasks import run_import_job
from pesiar.registers.uploads import job_start, scope_villages, show_preview

# Staff who bring register files: Pemda and BPJS officers, and the national administrator.
IMPORT_ROLES = frozenset({Role.ADMIN, Role.PROVINCE, Role.REGENCY, Role.BRANCH})


def require_import_role(user) -> None:
    if getattr(user, "role", None) not in IMPORT_ROLES:
        raise PermissionDenied("only Pemda and BPJS officers import registers")


def safe_name(name: str) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._")
    return base[:120] or "upload"


@login_required
def snapshot_list(request: HttpRequest) -> HttpResponse:
    require_import_role(request.user)
    form = ImportForm()
    if request.method == "POST":
        if int(request.META.get("CONTENT_LENGTH") or 0) > max_upload_bytes() + MB:
            # refused before the body is read
            limit = {"limit": max_upload_bytes() // MB}
            form.add_error(
                None,
                _("The file is larger than the %(limit)s MB an upload may be "
                  "(PESIAR_MAX_UPLOAD_MB): split it by region.") % limit,
            )  # fmt: skip
        else:
            form = ImportForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    import_scope(request.user, form.cleaned_data["kind"])
                except ImportScopeError as exc:
                    form.add_error(None, str(exc))
                else:
                    job = start_import(request, form)
                    return redirect("registers:job", pk=job.pk)
    return render(
        request,
        "registers/snapshot_list.html",
        {
            "form": form,
            "snapshots": Snapshot.objects.select_related("created_by")[:200],
            "jobs": ImportJob.objects.filter(created_by=request.user)[:20],
            "kind_labels": KIND_LABELS,
            "villages": scope_villages(request.user),
        },
    )


def start_import(request: HttpRequest, form: ImportForm) -> ImportJob:
    """Keep the upload under the data folder and queue its import for the worker."""
    upload = form.cleaned_data["file"]
    folder = Path(settings.DATA_DIR) / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / safe_name(upload.name)
    with path.open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    job = ImportJob.objects.create(
        kind=form.cleaned_data["kind"],
        as_of=form.cleaned_data["as_of"],
        replace=form.cleaned_data["replace"],
        format_name=form.cleaned_data.get("format_name") or "",
        village=(form.cleaned_data.get("village") or "").strip(),
        upload=str(path.relative_to(settings.DATA_DIR)),
        source_name=Path(upload.name).name[:255],
        created_by=request.user,
        status=ImportJob.Status.PREVIEW,
    )
    show_preview(job)  # the import starts when the officer confirms it (job_start)
    return job


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_import_role(request.user)
    job = get_object_or_404(ImportJob, pk=pk)
    if job.created_by_id != request.user.pk and request.user.role != Role.ADMIN:
        raise Http404
    if job.status == ImportJob.Status.RUNNING and recover_abandoned():
        job.refresh_from_db()  # its worker's lease had expired: now FAILED, no more refresh
    preview = job.result.get("preview") if job.status == ImportJob.Status.PREVIEW else None
    return render(
        request,
        "registers/job_detail.html",
        {
            "job": job,
            "percent": round(job.progress * 100),
            "kind_labels": KIND_LABELS,
            "preview": preview,
            "preview_rows": preview_rows(preview["columns"]) if preview else [],
        },
    )


@login_required
def job_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """The officer has seen the preview: queue the import."""
    require_import_role(request.user)
    job = get_object_or_404(ImportJob, pk=pk, created_by=request.user)
    if request.method == "POST":
        job_start(job, run_import_job)
    return redirect("registers:job", pk=job.pk)


@login_required
def snapshot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_import_role(request.user)
    snapshot = get_object_or_404(Snapshot, pk=pk)
    findings = Finding.objects.for_user(request.user).filter(snapshot=snapshot)
    by_village = (
        findings.exclude(village_code="")
        .values("village_code", "code", "severity")
        .annotate(rows=Sum("rows"))
        .order_by("village_code", "code")
    )
    return render(
        request,
        "registers/snapshot_detail.html",
        {
            "snapshot": snapshot,
            "reasons": sorted(snapshot.summary.get("reasons", {}).items()),
            "columns": sorted(
                (column_label(name), source)
                for name, source in snapshot.summary.get("columns", {}).items()
            ),
            "by_village": by_village[:2000],
            "can_download": can_download_rejects(request.user, snapshot),
            "kind_labels": KIND_LABELS,
        },
    )


def can_download_rejects(user, snapshot: Snapshot) -> bool:
    """Rejected rows are personal data of the whole file: for the person who imported it,
    the national administrator, and officers whose regions hold all of the importer's (a
    BPJS branch officer fixing the file of a regency they cover)."""
    if not snapshot.rejected:
        return False
    if user.role == Role.ADMIN or snapshot.created_by_id == user.pk:
        return True
    importer = snapshot.created_by
    if importer is None:
        return False
    theirs, mine = get_scope(importer), get_scope(user)
    if theirs.national or not theirs.codes or not mine.codes:
        return mine.national
    return mine.national or all(
        any(is_within(code, own) for own in mine.codes) for code in theirs.codes
    )


@login_required
def snapshot_rejects(request: HttpRequest, pk: int) -> FileResponse:
    require_import_role(request.user)
    require_personal_access(request.user)
    snapshot = get_object_or_404(Snapshot, pk=pk)
    if not can_download_rejects(request.user, snapshot) or not snapshot.rejects_file.exists():
        raise Http404
    # the importer's own upload (or the administrator's): the rows as they were sent, in full
    log_access(
        request.user, AccessKind.EXPORT, request.path, rows=snapshot.rejected,
        full_identifiers=True,
    )  # fmt: skip
    name = f"rejects-{snapshot.kind}-{snapshot.as_of}-{snapshot.pk}.csv"
    return FileResponse(
        snapshot.rejects_file.open("rb"), as_attachment=True, filename=name, content_type="text/csv"
    )

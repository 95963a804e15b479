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
from pesiar.accounts.scoping import require_personal_access
from pesiar.registers.forms import KIND_LABELS, ImportForm
from pesiar.registers.limits import MB, max_upload_bytes
from pesiar.registers.models import Finding, ImportJob, Snapshot
from pesiar.registers.snapshots import ImportScopeError, import_scope
from pesiar.registers.tasks import run_import_job

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
        upload=str(path.relative_to(settings.DATA_DIR)),
        source_name=Path(upload.name).name[:255],
        created_by=request.user,
    )
    run_import_job.enqueue(job.pk)
    return job


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_import_role(request.user)
    job = get_object_or_404(ImportJob, pk=pk)
    if job.created_by_id != request.user.pk and request.user.role != Role.ADMIN:
        raise Http404
    return render(
        request,
        "registers/job_detail.html",
        {"job": job, "percent": round(job.progress * 100), "kind_labels": KIND_LABELS},
    )


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
            "columns": sorted(snapshot.summary.get("columns", {}).items()),
            "by_village": by_village[:2000],
            "can_download": can_download_rejects(request.user, snapshot),
            "kind_labels": KIND_LABELS,
        },
    )


def can_download_rejects(user, snapshot: Snapshot) -> bool:
    """Rejected rows are personal data of the whole file: for the person who imported it
    and the national administrator."""
    return bool(snapshot.rejected) and (
        user.role == Role.ADMIN or snapshot.created_by_id == user.pk
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

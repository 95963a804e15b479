"""The import pages: upload, background import through the task queue, summary, rejects."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from cast import login
from pesiar.accounts.models import AccessLog
from pesiar.registers.models import Finding, ImportJob, Snapshot

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
WELFARE = (
    "nik;kk;decile;village_code\n"
    "1502054107900001;1502050101100001;3;15.02.05.1002\n"
    "1502054107900001;1502050101100001;3;15.02.05.1002\n"
    "1502054107900002;1502050101100001;11;15.02.05.1002\n"
    "1572011505850003;1572010101100002;2;15.72.01.1001\n"
)


def upload(
    client, content: bytes, name="dtks.csv", kind="welfare", replace=False, confirm=True, **extra
):
    """Upload a file; the page then shows the preview, and `confirm` starts the import."""
    response = client.post(
        reverse("registers:list"),
        {
            "kind": kind,
            "as_of": "2024-06-01",
            "file": SimpleUploadedFile(name, content, content_type="text/csv"),
            "replace": "on" if replace else "",
            **extra,
        },
    )
    job = ImportJob.objects.order_by("-pk").first()
    if confirm and job is not None and job.status == ImportJob.Status.PREVIEW:
        client.post(reverse("registers:job-start", args=[job.pk]))
    return response


@pytest.mark.django_db
def test_the_upload_shows_the_detected_format_and_columns_before_the_import(
    client, settings, data_dir
):
    from pathlib import Path

    settings.TASKS = IMMEDIATE
    login(client, "dinsos-merangin", "regency", ["15.02"], office="dinsos")
    form = client.get(reverse("registers:list")).content.decode()
    assert '<datalist id="villages">' in form and 'value="15.02.05.1002"' in form
    template = Path(__file__).parent / "data/registers/formats/opensid_template.xlsm"
    upload(
        client,
        template.read_bytes(),
        name="FormatImporExcel.xlsm",
        kind="population",
        confirm=False,
        village="15.02.05.1002",
    )
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.PREVIEW and not Snapshot.objects.exists()
    page = client.get(reverse("registers:job", args=[job.pk])).content.decode()
    assert "OpenSID import template" in page and 'http-equiv="refresh"' not in page
    # the register's columns by their Indonesian names, never as canonical codes
    assert "kk_level" in page and "hubungan keluarga" in page and "family_relation" not in page
    assert "tanggal lahir" in page and "birth_date" not in page
    assert "15.02.05.1002, untuk seluruh berkas" in page
    client.post(reverse("registers:job-start", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.message
    assert job.result["accepted"] == 8 and job.result["profile"] == "OpenSID import template"


@pytest.mark.django_db
def test_officer_imports_a_file_and_reads_its_summary_and_rejects(client, settings, data_dir):
    settings.TASKS = IMMEDIATE
    officer = login(client, "dinsos-merangin", "regency", ["15.02"], office="dinsos")
    response = upload(client, WELFARE.encode())
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("registers:job", args=[job.pk])
    assert job.status == ImportJob.Status.DONE, job.message
    # the row of Kota Sungai Penuh (15.72) lies outside the officer's regency: OUT_OF_SCOPE
    assert (job.result["rows_read"], job.result["accepted"], job.result["rejected"]) == (4, 1, 3)
    assert "OUT_OF_SCOPE" in job.result["reasons"]
    assert not job.upload_path.exists()  # the upload is not kept once imported

    snapshot = job.snapshot
    page = client.get(response.url).content.decode()
    assert "dtks.csv" in page and reverse("registers:snapshot", args=[snapshot.pk]) in page
    assert snapshot.source_name == "dtks.csv" and snapshot.created_by == officer
    detail = client.get(reverse("registers:snapshot", args=[snapshot.pk])).content.decode()
    assert "DECILE_INVALID" in detail and "DUPLICATE_ROW" in detail
    # Findings of the officer's villages show; those of Kota Sungai Penuh (15.72) do not.
    assert "15.02.05.1002" in detail and "15.72.01.1001" not in detail

    rejects = client.get(reverse("registers:rejects", args=[snapshot.pk]))
    body = b"".join(rejects.streaming_content).decode()
    assert "DECILE_INVALID" in body and ",3," in body  # the duplicate, on line 3
    assert "OUT_OF_SCOPE" in body
    log = AccessLog.objects.get(user=officer)
    assert (log.kind, log.rows) == ("export", 3)


@pytest.mark.django_db
def test_a_file_that_cannot_be_imported_says_why_with_the_users_file_name(
    client, settings, data_dir
):
    settings.TASKS = IMMEDIATE
    login(client, "bpjs", "branch", ["15.02"])
    upload(client, b"nomor;desil\n1;2\n", name="salah.csv")
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert "salah.csv" in job.message and "missing required column" in job.message
    assert str(data_dir) not in job.message
    assert not Snapshot.objects.exists()
    page = client.get(reverse("registers:job", args=[job.pk])).content.decode()
    assert "missing required column" in page


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_queued_imports(client, data_dir):
    """With the database queue (the real set-up), nothing happens until the worker runs."""
    login(client, "admin", "admin", [])  # a province-wide file: the national administrator
    upload(client, WELFARE.encode())
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.QUEUED
    page = client.get(reverse("registers:job", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' in page  # follows progress by itself
    call_command("db_worker", "--batch", "--no-startup-delay")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.snapshot.accepted == 2
    assert Finding.objects.unscoped(reason="test").filter(snapshot=job.snapshot).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "scopes"), [("agent", ["15.02.05.1002"]), ("viewer", ["15"])])
def test_agents_and_viewers_do_not_import(client, data_dir, role, scopes):
    login(client, f"u-{role}", role, scopes)
    assert client.get(reverse("registers:list")).status_code == 403
    assert upload(client, WELFARE.encode()).status_code == 403
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_rejects_are_for_the_importer_their_scope_and_the_admin(client, settings, data_dir):
    settings.TASKS = IMMEDIATE
    login(client, "dinsos-merangin", "regency", ["15.02"], office="dinsos")
    upload(client, WELFARE.encode())
    snapshot = Snapshot.objects.get()
    url = reverse("registers:rejects", args=[snapshot.pk])
    login(client, "dinkes-tebo", "regency", ["15.09"], office="dinkes")
    assert client.get(url).status_code == 404
    assert (
        "rejects.csv"
        not in client.get(reverse("registers:snapshot", args=[snapshot.pk])).content.decode()
    )
    login(client, "admin", "admin", [])
    assert client.get(url).status_code == 200
    # a BPJS branch officer whose regions hold the importer's: the rejects to fix
    login(client, "bpjs-bangko", "branch", ["15.02", "15.03", "15.01"])
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_a_preview_nobody_confirms_is_removed_after_the_preview_hours(client, settings, data_dir):
    from datetime import timedelta

    from django.utils import timezone

    from pesiar.registers import tasks

    settings.TASKS = IMMEDIATE
    settings.PESIAR = {
        **settings.PESIAR,
        "IMPORT": {**settings.PESIAR["IMPORT"], "PREVIEW_HOURS": 2},
    }
    login(client, "dinsos-merangin", "regency", ["15.02"], office="dinsos")
    upload(client, WELFARE.encode(), confirm=False)
    upload(client, WELFARE.encode(), name="other.csv", confirm=False)
    old, young = ImportJob.objects.order_by("pk")
    ImportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=3))
    # older than the orphan hours, but still waiting for its confirmation: kept by that cleanup
    assert tasks.remove_orphaned_uploads(older_than=timedelta(0)) == 0
    assert old.upload_path.exists() and young.upload_path.exists()

    assert tasks.expire_previews() == 1
    old.refresh_from_db()
    young.refresh_from_db()
    assert old.status == ImportJob.Status.FAILED and "2 jam" in old.message
    assert not old.upload_path.parent.exists()
    assert young.status == ImportJob.Status.PREVIEW and young.upload_path.exists()
    # a late click on "start" imports nothing
    client.post(reverse("registers:job-start", args=[old.pk]))
    old.refresh_from_db()
    assert old.status == ImportJob.Status.FAILED and not Snapshot.objects.exists()
    assert tasks.expire_previews() == 0

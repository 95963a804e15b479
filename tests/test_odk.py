"""ODK Collect: the XLSForm with the worklist attached (checked by ODK Validate), its download,
and submissions read back as visits once each."""

import csv
import io
import shutil
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from field_world import DUSUN_BARU, OUTSIDE, PASAR
from pesiar.field.models import Visit
from pesiar.field.odk import build_xform
from pesiar.field.odk_import import import_submissions
from pesiar.sweep.models import WorklistMember

KK_A, KK_B, KK_C = "1502050101200001", "1502050101200002", "1502050101200003"

pytestmark = [
    pytest.mark.skipif(
        shutil.which("java") is None, reason="ODK Validate needs java (.ci/run installs it)"
    ),
    pytest.mark.usefixtures("english"),  # messages are asserted in English
]


def test_the_form_and_worklist_for_a_village(world, tmp_path):
    out = tmp_path / "odk"
    call_command("odk-form", "--within", "15.02.05", "--out", str(out), "--as-user", "f-agent")
    rows = list(csv.DictReader((out / "worklist.csv").open()))
    a, b = world.items[KK_A], world.items[KK_B]
    # the agent's families, by priority, under opaque ids: no KK, masked or not
    assert [r["name"] for r in rows] == [f"f{a.pk}", f"f{b.pk}"]
    assert rows[0]["members"].startswith("BUDI SANTOSO (not registered, PBPU")
    assert rows[0]["village_code"] == DUSUN_BARU and "BUDI SANTOSO" in rows[0]["label"]
    members = list(csv.DictReader((out / "members.csv").open()))
    assert {(m["label"], m["family"]) for m in members} >= {
        ("BUDI SANTOSO · KEPALA KELUARGA", f"f{a.pk}"), ("DEWI · ISTRI", f"f{b.pk}")
    }  # fmt: skip
    assert "RUDI HARTONO" not in {m["label"].split(" · ")[0] for m in members}  # already active
    files = "".join(p.read_text() for p in out.glob("*.csv"))
    assert KK_A not in files and "1502051005800001" not in files and "****" not in files
    xform = build_xform(out / "form.xlsx")  # ODK Validate (java) accepts it
    assert 'src="jr://file-csv/worklist.csv"' in xform
    assert 'src="jr://file-csv/members.csv"' in xform
    assert "pulldata('worklist', 'members', 'name'" in xform
    assert "instance('members')/root/item[family= /data/family ]" in xform
    for field in ("activity", "visit_date", "outcome", "reason", "note", "location", "username",
                  "register_members", "segment", "faskes_code"):  # fmt: skip
        assert f"/data/{field}" in xform


def test_the_zip_is_offered_to_the_village_agent_only(world, client):
    client.force_login(world.users["agent"])
    response = client.get(reverse("field:odk_form", args=[PASAR]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["form.xlsx", "members.csv", "worklist.csv"]
    assert f"f{world.items[KK_B].pk}" in archive.read("worklist.csv").decode()
    assert f"f{world.items[KK_A].pk}," not in archive.read("worklist.csv").decode()
    assert client.get(reverse("field:odk_form", args=[OUTSIDE])).status_code == 404
    client.force_login(world.users["viewer"])
    assert client.get(reverse("field:odk_form", args=["15.02"])).status_code == 403


def submissions(path, rows):
    header = ["SubmissionDate", "start", "username", "kk", "members", "visit_date", "outcome",
              "reason", "note", "location-Latitude", "location-Longitude", "location-Altitude",
              "location-Accuracy", "meta-instanceID", "KEY", "SubmitterName"]  # fmt: skip
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in header})


def test_submissions_come_back_as_visits_once(world, tmp_path, capsys):
    path = tmp_path / "pesiar_visit.csv"
    submissions(
        path,
        [
            {"username": "f-agent", "kk": KK_A, "visit_date": "2024-07-02", "outcome": "NEEDS_PBI",
             "note": "keluarga miskin", "location-Latitude": "-2.08",
             "location-Longitude": "102.25",
             "meta-instanceID": "uuid:aaa"},
            {"username": "f-agent", "kk": KK_B, "visit_date": "2024-07-03", "outcome": "REFUSED",
             "meta-instanceID": "uuid:bbb"},
            {"username": "f-agent", "kk": KK_C, "visit_date": "2024-07-03", "outcome": "MOVED",
             "meta-instanceID": "uuid:ccc"},
        ],
    )  # fmt: skip
    first = import_submissions(path)
    assert (first.read, first.created, first.already) == (3, 1, 0)
    assert first.problems == [
        "line 3: a refusal needs the reason the family gave",
        f"line 4: family {KK_C} is not in f-agent's villages",
    ]
    visit = Visit.objects.unscoped(reason="test").get()
    assert (visit.client_id, visit.source, visit.outcome) == ("odk:uuid:aaa", "ODK", "NEEDS_PBI")
    assert float(visit.latitude) == -2.08 and visit.item.outcome == "NEEDS_PBI"
    call_command("import-odk", str(path))
    out = capsys.readouterr().out
    assert "0 visits recorded, 0 registrations recorded, 1 already recorded, 2 skipped" in out
    assert Visit.objects.unscoped(reason="test").count() == 1


CENTRAL_HEADER = ["SubmissionDate", "start", "username", "activity", "family", "members",
                  "visit_date", "outcome", "reason", "register_members", "segment",
                  "faskes_code", "note", "location-Latitude", "location-Longitude",
                  "location-Altitude", "location-Accuracy", "meta-instanceID", "KEY",
                  "SubmitterID", "SubmitterName", "ReviewState"]  # fmt: skip


def central_csv(world) -> str:
    """Central's CSV of one visit and one whole-family registration (as its export names the
    columns: groups joined with '-', the instanceID under meta)."""
    a = world.items[KK_A]
    members = WorklistMember.objects.unscoped(reason="test").filter(item=a).order_by("pk")
    member_ids = " ".join(f"m{m.pk}" for m in members)
    rows = [
        {"username": "f-agent", "activity": "visit", "family": f"f{a.pk}",
         "visit_date": "2024-07-02", "outcome": "WILL_REGISTER", "location-Latitude": "-2.1",
         "location-Longitude": "102.3", "meta-instanceID": "uuid:v-1", "KEY": "uuid:v-1"},
        {"username": "f-agent", "activity": "registration", "family": f"f{a.pk}",
         "visit_date": "2024-07-02", "register_members": member_ids, "segment": "PBPU",
         "faskes_code": "1502P002", "meta-instanceID": "uuid:r-1", "KEY": "uuid:r-1"},
    ]  # fmt: skip
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CENTRAL_HEADER)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in CENTRAL_HEADER})
    return text.getvalue()


def test_central_export_with_visits_and_registrations_imports_once_on_the_page(world, client):
    from pesiar.field.models import RegistrationRequest

    exported = io.BytesIO()
    with zipfile.ZipFile(exported, "w") as archive:  # Central's submissions.csv.zip
        archive.writestr("pesiar_visit.csv", central_csv(world))
        archive.writestr("pesiar_visit-media.csv", "PARENT_KEY,KEY\n")
    client.force_login(world.users["agent"])
    page = client.get(reverse("field:odk"))
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.content
    for _ in range(2):
        upload = io.BytesIO(exported.getvalue())
        upload.name = "pesiar_visit.csv.zip"
        answer = client.post(reverse("field:odk"), {"export": upload})
        assert answer.status_code == 200
    html = answer.content.decode()
    assert "2 already recorded before" in html and "Not recorded" not in html
    visit = Visit.objects.unscoped(reason="test").get()
    assert (visit.client_id, visit.source, visit.outcome) == (
        "odk:uuid:v-1",
        "ODK",
        "WILL_REGISTER",
    )
    request = RegistrationRequest.objects.unscoped(reason="test").get()
    assert (request.client_id, request.faskes_code, request.status) == (
        "odk:uuid:r-1", "1502P002", "SUBMITTED"
    )  # fmt: skip


def test_the_central_client_against_a_fake_central(world, monkeypatch, capsys):
    """Against FakeCentral (tests/central_fake.py): a fake written from Central's published
    API, not a real server; docs/field.md describes the test against a real Central."""
    from central_fake import FakeCentral
    from pesiar.field.models import RegistrationRequest

    monkeypatch.setenv("PESIAR_CENTRAL_PASSWORD", "central-pass-1")
    with FakeCentral() as central:
        args = ["--url", central.url, "--email", "admin@example.org", "--as-user", "f-agent"]
        call_command("odk-central", *args, "--within", "15.02.05")
        form = central.forms["pesiar_visit"]
        assert form["version"] and form["published"][:2] == b"PK"  # the XLSForm
        assert sorted(form["published_attachments"]) == ["members.csv", "worklist.csv"]
        assert KK_A not in form["published_attachments"]["worklist.csv"].decode()
        families = central.datasets["pesiar_families"]
        assert {e["label"].split(" · ")[0] for e in families} == {"BUDI SANTOSO", "RUDI HARTONO"}
        call_command("odk-central", *args, "--within", "15.02.05")  # again: a new draft
        assert ("POST", "/v1/projects/1/forms/pesiar_visit/draft?ignoreWarnings=true") in (
            central.calls
        )
        central.submissions_csv["pesiar_visit"] = central_csv(world)
        call_command("odk-central", *args, "--pull")
        call_command("odk-central", *args, "--pull")
        out = capsys.readouterr().out
        assert "1 visits, 1 registrations, 0 already recorded" in out
        assert "0 visits, 0 registrations, 2 already recorded" in out
        with pytest.raises(CommandError, match="401"):
            monkeypatch.setenv("PESIAR_CENTRAL_PASSWORD", "wrong")
            call_command("odk-central", *args, "--pull")
    assert Visit.objects.unscoped(reason="test").count() == 1
    assert RegistrationRequest.objects.unscoped(reason="test").count() == 1


def test_a_masked_role_gets_one_row_per_family_keyed_by_an_opaque_id(world, tmp_path):
    out = tmp_path / "odk-dinkes"
    call_command("odk-form", "--within", "15.02.05", "--out", str(out), "--as-user", "f-dinkes")
    rows = list(csv.DictReader((out / "worklist.csv").open()))
    assert sorted(r["name"] for r in rows) == sorted(f"f{i.pk}" for i in world.items.values())
    text = (out / "worklist.csv").read_text() + (out / "members.csv").read_text()
    assert "1502****" not in text and "********" not in text

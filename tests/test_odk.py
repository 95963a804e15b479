"""ODK Collect: the XLSForm with the worklist attached (checked by ODK Validate), its download,
and submissions read back as visits once each."""

import csv
import io
import shutil
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from field_world import DUSUN_BARU, OUTSIDE, PASAR, build_world
from pesiar.field.models import Visit
from pesiar.field.odk import build_xform, import_submissions

KK_A, KK_B, KK_C = "1502050101200001", "1502050101200002", "1502050101200003"

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None, reason="ODK Validate needs java (.ci/run installs it)"
)


@pytest.fixture(autouse=True)
def english(client):
    """Messages are asserted in English (the site's default language is Bahasa Indonesia)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def world(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return build_world()


def test_the_form_and_worklist_for_a_village(world, tmp_path):
    out = tmp_path / "odk"
    call_command("odk-form", "--within", "15.02.05", "--out", str(out), "--as-user", "f-agent")
    rows = list(csv.DictReader((out / "worklist.csv").open()))
    assert [r["name"] for r in rows] == [KK_A, KK_B]  # the agent's families, by priority
    assert rows[0]["members"].startswith("BUDI SANTOSO (NOT_REGISTERED, PBPU)")
    assert rows[0]["village_code"] == DUSUN_BARU and "BUDI SANTOSO" in rows[0]["label"]
    xform = build_xform(out / "form.xlsx")  # ODK Validate (java) accepts it
    assert 'src="jr://file-csv/worklist.csv"' in xform
    assert "pulldata('worklist', 'members', 'name'" in xform
    for field in ("visit_date", "outcome", "reason", "note", "location", "username"):
        assert f"/data/{field}" in xform


def test_the_zip_is_offered_to_the_village_agent_only(world, client):
    client.force_login(world.users["agent"])
    response = client.get(reverse("field:odk_form", args=[PASAR]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["form.xlsx", "worklist.csv"]
    assert KK_B in archive.read("worklist.csv").decode()
    assert KK_A not in archive.read("worklist.csv").decode()
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
        f"line 4: family card {KK_C} is not in f-agent's villages",
    ]
    visit = Visit.objects.unscoped(reason="test").get()
    assert (visit.client_id, visit.source, visit.outcome) == ("odk:uuid:aaa", "ODK", "NEEDS_PBI")
    assert float(visit.latitude) == -2.08 and visit.item.outcome == "NEEDS_PBI"
    call_command("import-odk", str(path))
    assert "0 visits recorded, 1 already recorded, 2 skipped" in capsys.readouterr().out
    assert Visit.objects.unscoped(reason="test").count() == 1

"""Advokasi and Registrasi end to end on the scenario: map -> sweep -> an agent visits and
registers a family -> batch for BPJS -> a later membership snapshot confirms it -> the village's
active figure rises by exactly those people."""

import csv
import io
from datetime import date, timedelta

import openpyxl
from django.urls import reverse
from django.utils import timezone

from pesiar.accounts.models import AccessLog
from pesiar.accounts.services import ensure_user
from pesiar.coverage.models import Indicator
from pesiar.field.models import PersonStatus, RegistrationRequest, RequestStatus, Visit
from pesiar.field.services import family_from_registers
from pesiar.linkage.pipeline import run_map
from pesiar.registers.services import import_register
from pesiar.sweep.models import WorklistItem
from pesiar.sweep.services import run_sweep

AS_OF = date(2024, 6, 1)
DUSUN_BARU = "15.02.05.1002"
PASSWORD = "pesiar-demo-Secret-1"


def login(client, username):
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]


def village_active(as_of):
    row = Indicator.objects.unscoped(reason="test").get(as_of=as_of, region_id=DUSUN_BARU)
    return row.population, row.active, float(row.active_pct)


def test_agent_registers_a_family_and_the_next_membership_snapshot_confirms_it(
    scenario, settings, tmp_path, client, db
):
    settings.DATA_DIR = tmp_path / "data"
    for kind in ("population", "membership"):
        import_register(kind, scenario.path(kind), AS_OF)
    run_map(AS_OF)
    run_sweep(AS_OF)
    population, active_before, pct_before = village_active(AS_OF)

    agent = ensure_user("agen-dusunbaru", role="agent", scopes=[DUSUN_BARU], password=PASSWORD)
    officer = ensure_user(
        "bpjs-bangko", role="branch", scopes=["15.02", "15.03", "15.01"], password=PASSWORD
    )

    # the agent logs in: home page is the villages' worklist, by priority
    login(client, agent.username)
    home = client.get(reverse("field:home"))
    assert home.status_code == 200
    items = list(WorklistItem.objects.for_user(agent).filter(state="OPEN"))
    assert items and all(i.village_id == DUSUN_BARU for i in items)
    assert [i.priority for i in items] == sorted((i.priority for i in items), reverse=True)

    # a family whose members are all unregistered, for a whole-card PBPU registration
    item = next(
        i
        for i in items
        if i.members_total == i.members_uncovered
        and i.members.unscoped(reason="test").filter(status="NOT_REGISTERED").count()
        == i.members_total
    )
    page = client.get(reverse("field:visit_add", args=[item.pk]))
    assert page.status_code == 200
    response = client.post(
        reverse("field:visit_add", args=[item.pk]),
        {
            "date": timezone.localdate().isoformat(),
            "outcome": "WILL_REGISTER",
            "note": "ingin mendaftar mandiri",
            "client_id": "visit-1",
        },
    )
    assert response.status_code == 302
    # a retry of the same submission changes nothing
    client.post(
        reverse("field:visit_add", args=[item.pk]),
        {
            "date": timezone.localdate().isoformat(),
            "outcome": "WILL_REGISTER",
            "client_id": "visit-1",
        },
    )
    assert Visit.objects.for_user(agent).filter(item=item).count() == 1
    item.refresh_from_db()
    assert (item.outcome, item.state) == ("WILL_REGISTER", "OPEN")

    form = client.get(reverse("field:register_family", args=[item.pk]))
    assert form.status_code == 200
    members = [m for m in form.context["members"] if m["status"] == "NOT_REGISTERED"]
    assert len(members) == item.members_total
    niks = [m["nik_shown"] for m in members]  # an agent sees them in full
    tokens = [m["token"] for m in members]  # the form carries opaque ids, not NIKs
    # leaving a member out of a PBPU registration is refused, naming who is missing
    if len(niks) > 1:
        refused = client.post(
            reverse("field:register_family", args=[item.pk]),
            {"member": tokens[:-1], "segment": "PBPU", "jkn_class": 3, "faskes_code": "10020101",
             "client_id": "reg-0", "action": "submit"},
            follow=True,
        )  # fmt: skip
        assert niks[-1] in refused.content.decode()
        assert not RegistrationRequest.objects.for_user(agent).filter(client_id="reg-0").exists()
    response = client.post(
        reverse("field:register_family", args=[item.pk]),
        {"member": tokens, "segment": "PBPU", "jkn_class": 3, "faskes_code": "10020101",
         "client_id": "reg-1", "action": "submit"},
    )  # fmt: skip
    assert response.status_code == 302, [str(m) for m in response.wsgi_request._messages]
    request = RegistrationRequest.objects.for_user(agent).get(client_id="reg-1")
    assert request.status == RequestStatus.SUBMITTED
    client.post(
        reverse("field:visit_add", args=[item.pk]),
        {"date": timezone.localdate().isoformat(), "outcome": "REGISTERED", "client_id": "visit-2"},
    )
    item.refresh_from_db()
    assert (item.outcome, item.state) == ("REGISTERED", "CLOSED")

    # the BPJS branch officer makes the batch file
    client.post(reverse("logout"))
    login(client, officer.username)
    assert client.post(reverse("field:batch_create"), {"code": "15.02"}).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.EXPORTED and request.batch_id
    xlsx = client.get(reverse("field:batch_download", args=[request.batch_id, "xlsx"]))
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    header = [c.value for c in sheet[1]]
    exported = [
        dict(zip(header, [c.value for c in r], strict=True)) for r in sheet.iter_rows(min_row=2)
    ]
    assert sorted(r["nik"] for r in exported) == sorted(niks)
    csv_text = b"".join(
        client.get(
            reverse("field:batch_download", args=[request.batch_id, "csv"])
        ).streaming_content
    ).decode()
    assert sorted(r["nik"] for r in csv.DictReader(io.StringIO(csv_text))) == sorted(niks)
    assert AccessLog.objects.filter(user=officer, kind="export").exists()

    # BPJS enrols them: the next membership extract lists them, active
    later = timezone.localdate() + timedelta(days=7)
    extract = tmp_path / "membership-later.csv"
    with scenario.path("membership").open(newline="", encoding="utf-8") as src:
        reader = csv.DictReader(src)
        fields = reader.fieldnames
        rows = list(reader)
    people = {m["nik"]: m for m in family_from_registers(item.kk)}
    for n, nik in enumerate(niks):
        m = people[nik]
        rows.append(
            {**dict.fromkeys(fields, ""), "NOKA": f"{9_990_000_000_000 + n:013d}", "NIK": nik,
             "NAMA": m["name"], "JENIS_KELAMIN": m["sex"],
             "TGL_LAHIR": m["birth_date"].strftime("%d/%m/%Y"),
             "NO_KK": item.kk, "SEGMEN": "PBPU", "KELAS": "3", "STATUS_PESERTA": "AKTIF",
             "KD_PPK": "10020101", "KODE_DESA": DUSUN_BARU.replace(".", "")}
        )  # fmt: skip
    with extract.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    import_register("membership", extract, later)  # reconciliation runs after the import

    request.refresh_from_db()
    assert request.status == RequestStatus.ACTIVATED
    assert request.confirmed_by.as_of == later
    assert {p.status for p in request.people.unscoped(reason="test")} == {PersonStatus.ACTIVE}

    run_map(later)
    population_after, active_after, pct_after = village_active(later)
    assert population_after == population
    assert active_after == active_before + len(niks)
    assert round(pct_after - pct_before, 2) == round(100 * len(niks) / population, 2)

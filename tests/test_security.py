"""The findings of the security test of the running app, one test (or a few) per finding, plus
the response scanner (every masked role, every URL pattern: no full NIK/KK of a test person,
and a log entry with the right flag) and the reconstruction test (masked NIKs cannot be
rebuilt from what a masked role sees)."""

import csv
import io
import re
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from field_world import DUSUN_BARU, FAMILIES, OUTSIDE, PASAR
from pesiar.accounts.models import AccessLog
from pesiar.accounts.viewer import mask_identifier
from pesiar.field import services
from pesiar.field.models import ApiToken, RegistrationRequest, RequestStatus
from pesiar.field.services import FieldError, RegistrationInput
from pesiar.linkage.models import LinkRun, ReviewDecision, ReviewItem
from pesiar.regions.nik import classify
from pesiar.registers.forms import ImportForm
from pesiar.registers.models import Snapshot
from pesiar.registers.services import RegisterImportError, import_register
from pesiar.registers.snapshots import snapshot_files, snapshot_sql
from pesiar.sweep.models import WorklistItem
from test_accounts import routes

KK_A = "1502050101200001"
KK_B = "1502050101200002"
MASKED = ("admin", "dinkes")
PERSON_NUMBERS = sorted(
    {kk for kk in FAMILIES} | {m[0] for _v, members in FAMILIES.values() for m in members}
)


# Messages are asserted in English (the site speaks Bahasa Indonesia by default).
pytestmark = pytest.mark.usefixtures("english")


def found_numbers(text: str) -> list[str]:
    return [n for n in PERSON_NUMBERS if n in text]


def api(client, method, path, user, **body):
    key = ApiToken.issue(user)[1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if method == "get":
        return client.get(path, body, **headers)
    return client.post(path, body, content_type="application/json", **headers)


# --- 1. full NIK/KK reached masked roles ------------------------------------------------------


def test_1_register_form_carries_opaque_ids_not_niks(world, client):
    client.force_login(world.users["dinkes"])
    page = client.get(reverse("field:register_family", args=[world.items[KK_A].pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert found_numbers(body) == []
    values = re.findall(r'name="member" value="([^"]+)"', body)
    assert len(values) == 3 and not any(v.isdigit() for v in values)
    entry = AccessLog.objects.latest("id")
    assert entry.rows == 3 and entry.full_identifiers is False


def test_1_the_opaque_ids_register_the_chosen_members(world, client):
    client.force_login(world.users["agent"])
    url = reverse("field:register_family", args=[world.items[KK_A].pk])
    members = client.get(url).context["members"]
    response = client.post(
        url,
        {
            "member": [m["token"] for m in members],
            "segment": "PBPU",
            "jkn_class": 3,
            "faskes_code": "10020101",
            "client_id": "opaque-1",
            "action": "submit",
        },
    )
    assert response.status_code == 302
    request = RegistrationRequest.objects.for_user(world.users["agent"]).get(client_id="opaque-1")
    people = services.registration_people(world.users["agent"], request)
    assert sorted(p.nik for p in people) == sorted(m[0] for m in FAMILIES[KK_A][1])


def test_1_api_registration_errors_hold_no_full_kk_or_nik_for_masked_roles(world, client):
    body = {"client_id": "x1", "kk": KK_B, "niks": [FAMILIES[KK_A][1][0][0]], "segment": "PBPU",
            "faskes_code": "1", "item_id": world.items[KK_A].pk}  # fmt: skip
    for name in MASKED:
        response = api(client, "post", "/api/registrations", world.users[name], **body)
        assert response.status_code == 403
        assert found_numbers(response.content.decode()) == []


def test_1_web_registration_problems_are_masked_for_masked_roles(world, client):
    client.force_login(world.users["dinkes"])
    url = reverse("field:register_family", args=[world.items[KK_A].pk])
    members = client.get(url).context["members"]
    response = client.post(
        url,
        {"member": [members[0]["token"]], "segment": "PBPU", "jkn_class": 3,
         "faskes_code": "1", "client_id": "w1", "action": "submit"},
        follow=True,
    )  # fmt: skip
    body = response.content.decode()
    assert "PBPU registers the whole family card" in body
    assert found_numbers(body) == []
    assert "1502************" in body


def test_1_failed_posts_are_logged(world, client):
    before = AccessLog.objects.count()
    response = api(
        client, "post", "/api/registrations", world.users["agent"],
        client_id="f1", kk=KK_A, niks=[FAMILIES[KK_A][1][0][0]], segment="PBPU", faskes_code="1",
    )  # fmt: skip
    assert response.status_code == 400
    assert FAMILIES[KK_A][1][1][0] in response.content.decode()  # agents see the NIKs to add
    entry = AccessLog.objects.latest("id")
    assert AccessLog.objects.count() == before + 1
    assert entry.kind == "api" and entry.full_identifiers is True


# --- 2. masked NIKs could be rebuilt ----------------------------------------------------------


def test_2_a_masked_identifier_keeps_only_province_and_regency():
    nik = "1502055506820002"
    assert mask_identifier(nik) == "1502************"
    assert sum(c.isdigit() for c in mask_identifier(nik)) == 4


def test_2_masked_roles_see_the_birth_year_not_the_date(world, client):
    data = api(client, "get", "/api/worklist", world.users["dinkes"]).json()
    members = [m for item in data for m in item["members"]]
    assert members and all(m["birth_date"] is None and m["birth_year"] for m in members)
    full = api(client, "get", "/api/worklist", world.users["agent"]).json()
    assert all(m["birth_date"] for item in full for m in item["members"])


def test_2_exact_kk_search_only_for_roles_that_see_it(world, client):
    client.force_login(world.users["dinkes"])
    page = client.get(reverse("sweep:worklist"), {"q": KK_A})
    assert page.status_code == 200 and len(page.context["page"]) == 0
    client.force_login(world.users["branch"])
    page = client.get(reverse("sweep:worklist"), {"q": KK_A})
    assert [i.kk for i in page.context["page"]] == [KK_A]


def rebuild(masked: str, sex: str, birth_year: int, village: str) -> set[str]:
    """Every NIK consistent with what a masked role sees: the masked value, sex, birth year
    and village (district of first registration assumed to be the village's)."""
    district = village.replace(".", "")[:6]
    kept = masked.replace("*", "")
    out = set()
    if not district.startswith(kept):
        return out
    day0 = 40 if sex == "P" else 0
    start = date(birth_year, 1, 1)
    for offset in range(366):
        day = start + timedelta(days=offset)
        if day.year != birth_year:
            break
        middle = f"{day.day + day0:02d}{day.month:02d}{day.year % 100:02d}"
        for serial in range(1, 10):
            out.add(f"{district}{middle}{serial:04d}")
    return out


def test_2_niks_cannot_be_rebuilt_from_what_a_masked_role_sees(world, client):
    """From the worklist API as a Dinkes officer, at most 0.1% of NIKs come out exactly (a
    guess counts only when one candidate is left)."""
    data = api(client, "get", "/api/worklist", world.users["dinkes"]).json()
    members = [(m, item["village_code"]) for item in data for m in item["members"]]
    truth = {m[1]: m[0] for _v, ms in FAMILIES.values() for m in ms}
    rebuilt = 0
    for member, village in members:
        assert classify(member["nik"])[1] is not None  # not a valid NIK as shown
        candidates = rebuild(member["nik"], member["sex"], member["birth_year"], village)
        assert truth[member["name"]] in candidates  # the reasoning is sound...
        rebuilt += len(candidates) == 1  # ...but leaves thousands of candidates
    assert members and rebuilt / len(members) <= 0.001


# --- 3. any officer could replace every region's registers ------------------------------------

POP_HEADER = "NIK;NO_KK;NAMA_LGKP;JENIS_KLMIN;TGL_LHR;STAT_HBKEL;KODE_DESA"


def population_file(tmp_path: Path, name: str, rows: list[tuple[str, str, str]]) -> Path:
    """A small population CSV of (nik, kk, village) rows."""
    path = tmp_path / name
    lines = [POP_HEADER]
    for i, (nik, kk, village) in enumerate(rows):
        d = nik[6:12]
        lines.append(f"{nik};{kk};ORANG {i};LAKI-LAKI;{d[:2]}-{d[2:4]}-19{d[4:]};"
                     f"KEPALA KELUARGA;{village.replace('.', '')}")  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def test_3_an_officer_imports_only_rows_of_their_regions(world, tmp_path):
    rows = [("1502051005800011", "1502050101200011", DUSUN_BARU),
            ("1501010101800012", "1501010101200012", "15.01.01.2002")]  # fmt: skip
    result = import_register(
        "population", population_file(tmp_path, "p.csv", rows), date(2024, 7, 1),
        user=world.users["dinkes"],
    )  # fmt: skip
    assert (result.accepted, result.rejected) == (1, 1)
    assert "OUT_OF_SCOPE" in result.reasons
    assert Snapshot.objects.get(pk=result.snapshot_id).scope == "15.02"


def test_3_replacing_replaces_only_that_scope(world, tmp_path):
    national = import_register(
        "population",
        population_file(tmp_path, "n.csv", [("1501010101800012", "1501010101200012",
                                             "15.01.01.2002"),
                                            ("1502051005800011", "1502050101200011", DUSUN_BARU)]),
        date(2024, 7, 1),
    )  # fmt: skip
    mine = import_register(
        "population",
        population_file(tmp_path, "m.csv", [("1502051005800099", "1502050101200099", PASAR)]),
        date(2024, 7, 1),
        user=world.users["dinkes"],
        replace=True,
    )
    assert mine.replaced is None  # the nation-wide snapshot stays
    assert Snapshot.objects.get(pk=national.snapshot_id).superseded_at is None
    files = snapshot_files("population", date(2024, 7, 1))
    assert [(f.scope, f.excluded) for f in files] == [("", ("15.02",)), ("15.02", ())]
    import duckdb

    niks = sorted(
        r[0]
        for r in duckdb.sql(
            f"SELECT nik FROM {snapshot_sql('population', date(2024, 7, 1))}"
        ).fetchall()
    )
    # Kerinci's row from the national file, Merangin's from the officer's
    assert niks == ["1501010101800012", "1502051005800099"]


def test_3_only_the_national_administrator_imports_province_or_nation_wide_files(world, tmp_path):
    from pesiar.accounts.models import Scope, User

    province = User.objects.create(username="prov", role="province")
    Scope.objects.create(user=province, region_id="15")
    path = population_file(tmp_path, "p.csv", [("1502051005800011", "1502050101200011",
                                                DUSUN_BARU)])  # fmt: skip
    with pytest.raises(RegisterImportError, match="province-wide"):
        import_register("population", path, date(2024, 7, 1), user=province)
    with pytest.raises(RegisterImportError, match="outside your scope"):
        import_register("population", path, date(2024, 7, 1), user=world.users["dinkes"],
                        scope="15.01")  # fmt: skip
    with pytest.raises(RegisterImportError, match="whole nation"):
        import_register("layoffs", path, date(2024, 7, 1), user=world.users["dinkes"])


def test_3_reconciliation_touches_only_registrations_inside_the_snapshot_scope(world, tmp_path):
    from field_world import membership_snapshot

    services.register_family(
        world.users["agent"],
        RegistrationInput(
            kk=KK_A, niks=[m[0] for m in FAMILIES[KK_A][1]], segment="PBPU", faskes_code="1"
        ),
    )
    services.export_batch(world.users["branch"], "15.02")
    later = timezone.localdate() + timedelta(days=1)
    rows = [(f"99{i:011d}", m[0], m[1], "ACTIVE", DUSUN_BARU)
            for i, m in enumerate(FAMILIES[KK_A][1])]  # fmt: skip
    other = membership_snapshot(later, rows)
    Snapshot.objects.filter(pk=other.pk).update(scope="15.01")
    other.refresh_from_db()
    from pesiar.field.reconcile import reconcile

    assert reconcile(other)["requests"] == 0
    Snapshot.objects.filter(pk=other.pk).update(scope="15.02")
    other.refresh_from_db()
    assert reconcile(other)["requests"] == 1


# --- 4. formula injection ---------------------------------------------------------------------

FORMULA = '=HYPERLINK("http://x.invalid","klik")'


def test_4_worklist_csv_and_xlsx_write_formulas_as_text(world, client):
    WorklistItem.objects.unscoped(reason="test").filter(kk=KK_A).update(head_name=FORMULA)
    client.force_login(world.users["agent"])
    text = client.get(reverse("sweep:export"), {"format": "csv"}).content.decode()
    heads = {row["head_name"] for row in csv.DictReader(io.StringIO(text))}
    assert "'" + FORMULA in heads and FORMULA not in heads
    data = client.get(reverse("sweep:export"), {"format": "xlsx"}).content
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value and "HYPERLINK" in str(c.value)]
    assert cells and all(c.data_type == "s" for c in cells)


def test_4_batch_files_write_formulas_as_text(world):
    services.register_family(world.users["agent"], RegistrationInput(
        kk=KK_A, niks=[m[0] for m in FAMILIES[KK_A][1]], segment="PBPU",
        faskes_code="+SUM(1)"))  # fmt: skip
    batch = services.export_batch(world.users["branch"], "15.02")
    folder = services.batch_folder(batch)
    rows = list(csv.DictReader((folder / f"batch-{batch.pk}.csv").open()))
    assert {r["faskes_code"] for r in rows} == {"'+SUM(1)"}
    sheet = load_workbook(folder / f"batch-{batch.pk}.xlsx").active
    cells = [c for row in sheet.iter_rows() for c in row if c.value == "+SUM(1)"]
    assert cells and all(c.data_type == "s" for c in cells)


def test_4_odk_worklist_csv_writes_formulas_as_text(world, client):
    WorklistItem.objects.unscoped(reason="test").filter(kk=KK_A).update(head_name="@cmd")
    from pesiar.field import odk

    rows = odk.worklist_rows(world.users["agent"], DUSUN_BARU)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        odk.write_form_files(world.users["agent"], DUSUN_BARU, zf)
    text = zipfile.ZipFile(buffer).read("worklist.csv").decode()
    assert rows and "'@cmd" in text and ",@cmd" not in text


# --- 5. SQLite: write transactions take the lock at the start ---------------------------------


def test_5_sqlite_transactions_begin_immediate_with_a_busy_timeout():
    options = django_settings.DATABASES["default"].get("OPTIONS", {})
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps its own locking")
    assert options["transaction_mode"] == "IMMEDIATE" and options["timeout"] >= 5


# --- 6. the same family submitted many times --------------------------------------------------


def test_6_a_person_in_an_open_request_cannot_be_put_in_another(world):
    niks = [m[0] for m in FAMILIES[KK_A][1]]
    first, _ = services.register_family(world.users["agent"], RegistrationInput(
        kk=KK_A, niks=niks, segment="PBPU", faskes_code="1", client_id="a"))  # fmt: skip
    for client_id in ("b", "c"):
        with pytest.raises(FieldError) as exc:
            services.register_family(
                world.users["agent"],
                RegistrationInput(
                    kk=KK_A, niks=niks, segment="PBPU", faskes_code="1", client_id=client_id
                ),
            )
        assert exc.value.status == 409
        assert f"#{first.pk}" in exc.value.problems[0]
    assert RegistrationRequest.objects.for_user(world.users["agent"]).count() == 1
    # a retry of the first is still answered with the first
    again, created = services.register_family(world.users["agent"], RegistrationInput(
        kk=KK_A, niks=niks, segment="PBPU", faskes_code="1", client_id="a"))  # fmt: skip
    assert (again.pk, created) == (first.pk, False)
    RegistrationRequest.objects.unscoped(reason="test").filter(pk=first.pk).update(
        status=RequestStatus.CONFIRMED
    )
    services.register_family(world.users["agent"], RegistrationInput(
        kk=KK_A, niks=niks, segment="PBPU", faskes_code="1", client_id="d"))  # fmt: skip


# --- 7. imports have no bounds ----------------------------------------------------------------


def test_7_an_upload_over_the_limit_is_refused_with_the_limit_named(settings):
    settings.PESIAR = {**settings.PESIAR, "IMPORT": {"MAX_UPLOAD_MB": 1}}
    big = SimpleUploadedFile("big.csv", b"x" * (1024 * 1024 + 1))
    form = ImportForm({"kind": "population", "as_of": "2024-06-01"}, {"file": big})
    assert not form.is_valid()
    assert "PESIAR_MAX_UPLOAD_MB" in form.errors["file"][0]


def test_7_a_workbook_that_unpacks_too_large_is_refused_before_reading(world, tmp_path, settings):
    settings.PESIAR = {**settings.PESIAR, "IMPORT": {"MAX_UNCOMPRESSED_MB": 1}}
    book = Workbook()
    sheet = book.active
    sheet.append(POP_HEADER.split(";"))
    for _i in range(20000):
        sheet.append(["1502051005800011", "1502050101200011", "A" * 40, "L", "10-05-1980",
                      "KEPALA KELUARGA", "1502051002"])  # fmt: skip
    path = tmp_path / "bomb.xlsx"
    book.save(path)
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(RegisterImportError, match="PESIAR_MAX_UNCOMPRESSED_MB"):
        import_register("population", path, date(2024, 7, 1))


def test_7_a_file_with_too_many_rows_is_refused(world, tmp_path, settings):
    settings.PESIAR = {**settings.PESIAR, "IMPORT": {"MAX_ROWS": 1}}
    rows = [("1502051005800011", "1502050101200011", DUSUN_BARU),
            ("1502051005800012", "1502050101200011", DUSUN_BARU)]  # fmt: skip
    with pytest.raises(RegisterImportError, match="PESIAR_MAX_ROWS"):
        import_register("population", population_file(tmp_path, "p.csv", rows), date(2024, 7, 1))
    assert not Snapshot.objects.filter(as_of=date(2024, 7, 1)).exists()


# --- low items --------------------------------------------------------------------------------


def test_9_the_proxy_count_finds_the_clients_address(rf, settings):
    from axes.helpers import get_client_ip_address

    settings.AXES_IPWARE_PROXY_COUNT = 1
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.1", REMOTE_ADDR="10.0.0.1")
    assert get_client_ip_address(request) == "203.0.113.7"


def test_11_files_pesiar_writes_are_private(world, tmp_path):
    result = import_register(
        "population",
        population_file(tmp_path, "p.csv", [("1502051005800011", "1502050101200011",
                                             "15.99.99.9999")]),
        date(2024, 7, 1),
    )  # fmt: skip
    snapshot = Snapshot.objects.get(pk=result.snapshot_id)
    for path in (snapshot.data_file, snapshot.rejects_file):
        assert path.stat().st_mode & 0o077 == 0, path
    assert snapshot.path.stat().st_mode & 0o077 == 0


def test_12_the_api_docs_load_nothing_from_a_cdn(world, client):
    client.force_login(world.users["agent"])
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert not re.search(r'(src|href)="https?://', page.content.decode())


def test_13_a_pair_decided_in_another_scope_is_decided_again_without_error(world, client):
    run = LinkRun.objects.first()
    nik = FAMILIES[KK_A][1][0][0]
    ReviewDecision.objects.create(resident_nik=nik, noka="0001112223334",
                                  village_code="15.01.01.2001", decision="REJECT")  # fmt: skip
    item = ReviewItem.objects.create(run=run, village_code=DUSUN_BARU, resident_nik=nik,
                                     noka="0001112223334", probability=0.7)  # fmt: skip
    client.force_login(world.users["dinkes"])
    response = client.post(reverse("linkage:review_item", args=[item.pk]), {"decision": "ACCEPT"})
    assert response.status_code == 302
    decision = ReviewDecision.objects.unscoped(reason="test").get(resident_nik=nik)
    assert (decision.decision, decision.village_code) == ("ACCEPT", DUSUN_BARU)


# --- the response scanner ---------------------------------------------------------------------

API_POSTS = {
    "/api/visits": {"client_id": "s", "item_id": 999999, "date": "2024-06-01", "outcome": "X"},
    "/api/events": {"client_id": "s", "village": OUTSIDE, "date": "2024-06-01", "kind": "X"},
    "/api/registrations": {"client_id": "s", "kk": KK_A, "niks": [FAMILIES[KK_A][1][0][0]],
                           "segment": "PBPU"},
}  # fmt: skip


def scan_values(world) -> list[list[str]]:
    item = world.items[KK_A]
    req, _ = services.register_family(world.users["agent"], RegistrationInput(
        kk=KK_B, niks=[FAMILIES[KK_B][1][1][0]], segment="PBPU", faskes_code="1"))  # fmt: skip
    return [
        [DUSUN_BARU, str(item.pk), "x", "csv"],
        ["15.02", str(req.pk), "x", "xlsx"],
    ]


@pytest.mark.parametrize("name", MASKED)
def test_scanner_no_full_identifier_reaches_a_masked_role(world, client, name):
    """Every URL pattern, GET, then POST (empty form, or an invalid API body): no full NIK or
    KK of a test person in the body or headers, and every answer with personal rows logged
    without the full-identifier flag."""
    user = world.users[name]
    client.force_login(user)
    key = ApiToken.issue(user)[1]
    seen = set()
    problems = []
    for values in scan_values(world):
        for route in routes(values):
            if route.path in seen or "logout" in route.name or route.name == "set_language":
                continue
            seen.add(route.path)
            for method in ("get", "post"):
                before = AccessLog.objects.count()
                if route.path.startswith("/api/"):
                    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
                    body = API_POSTS.get(route.path, {"x": 1})
                    response = getattr(client, method)(
                        route.path, body if method == "post" else {},
                        content_type="application/json", **headers,
                    )  # fmt: skip
                else:
                    response = getattr(client, method)(route.path, {}, follow=True)
                # /healthz answers 503 while no task worker beats (none does here)
                assert response.status_code < 500 or route.name == "healthz", (method, route.path)
                text = b"".join(response) if response.streaming else response.content
                if isinstance(text, bytes | bytearray):
                    text = _readable(bytes(text))
                text += " ".join(f"{k}: {v}" for k, v in response.items())
                leaked = found_numbers(text)
                if leaked:
                    problems.append((method, route.path, leaked))
                new = AccessLog.objects.order_by("id")[before:]
                if any(e.full_identifiers for e in new):
                    problems.append((method, route.path, "logged as full"))
                if response.status_code == 200 and _personal(text) and not new:
                    problems.append((method, route.path, "personal rows, no log entry"))
    assert not problems


def _readable(data: bytes) -> str:
    """The text of an answer, with zip (ODK) and XLSX answers opened."""
    if data[:2] == b"PK":
        out = []
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                inner = zf.read(info)
                out.append(
                    _readable(inner) if inner[:2] == b"PK" else inner.decode("utf-8", "replace")
                )
        return " ".join(out)
    return data.decode("utf-8", "replace")


def _personal(text: str) -> bool:
    names = {m[1] for _v, ms in FAMILIES.values() for m in ms}
    return any(n in text for n in names)

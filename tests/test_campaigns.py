"""Campaigns, the agents' flow, plausibility flags and the family leaflet, on the small field
world (Merangin) and the OKU Selatan region list."""

import shutil
import subprocess
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import unquote

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from field_world import DUSUN_BARU, OUTSIDE, PASAR, build_world
from pesiar.accounts.models import AccessKind, AccessLog, Scope, User
from pesiar.campaigns import agents, leaflet, plausibility, services
from pesiar.campaigns.models import AssignmentStatus
from pesiar.field.models import Outcome, RegistrationRequest, RequestStatus, Source, Visit
from pesiar.regions.services import load_regions
from pesiar.sweep.models import WorklistItem, WorklistMember

PASSWORD = "pesiar-Test-pass-1"
TANJUNG_SARI = {
    "16.09.05.2008": "Simpang",
    "16.09.09.2019": "Buay Pemaca",
    "16.09.12.2010": "Buay Pematang Ribu Ranau Tengah",
}


@pytest.fixture
def world(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_world()


def client_for(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="id")
    client.force_login(user)
    return client


# --- the agents' flow -------------------------------------------------------------------------


def test_a_pemda_office_recommends_and_the_branch_approves_and_assigns(world):
    u = world.users
    a = agents.recommend(u["dinkes"], regency_code="15.02", village_codes=[DUSUN_BARU],
                         name="Rina Marlina", phone="0812")  # fmt: skip
    assert a.status == AssignmentStatus.RECOMMENDED and a.recommended_office == "dinkes"
    assert a.recommended_by == u["dinkes"] and a.recommended_at is not None
    assert a.decided_at is None
    done = agents.approve(u["branch"], a.pk, username="agen-rina")
    assert done.status == AssignmentStatus.ASSIGNED
    assert done.decided_by == u["branch"] and done.decided_at >= done.recommended_at
    agent = User.objects.get(username="agen-rina")
    assert agent.role == "agent" and not agent.has_usable_password()
    assert list(Scope.objects.filter(user=agent).values_list("region_id", flat=True)) == [
        DUSUN_BARU
    ]
    with pytest.raises(ValidationError):
        agents.approve(u["branch"], a.pk, username="agen-rina")


@pytest.mark.parametrize("who", ["branch", "admin", "agent", "viewer", "kerinci"])
def test_nobody_but_a_pemda_office_of_the_regency_recommends(world, who):
    with pytest.raises(PermissionDenied):
        agents.recommend(world.users[who], regency_code="15.02", village_codes=[DUSUN_BARU],
                         name="X")  # fmt: skip


@pytest.mark.parametrize("who", ["dinkes", "admin", "agent", "viewer", "kerinci"])
def test_nobody_but_the_branch_approves_or_declines(world, who):
    a = agents.recommend(world.users["dinkes"], regency_code="15.02", village_codes=[PASAR],
                         name="Budi")  # fmt: skip
    with pytest.raises(PermissionDenied):
        agents.approve(world.users[who], a.pk, username="agen-budi")
    with pytest.raises(PermissionDenied):
        agents.decline(world.users[who], a.pk, note="no")
    a.refresh_from_db()
    assert a.status == AssignmentStatus.RECOMMENDED and a.decided_at is None


def test_the_branch_declines_with_a_reason_and_villages_must_be_in_the_regency(world):
    u = world.users
    with pytest.raises(ValidationError):
        agents.recommend(u["dinkes"], regency_code="15.02", village_codes=["15.01.01.2001"],
                         name="Y")  # fmt: skip
    a = agents.recommend(u["dinkes"], regency_code="15.02", village_codes=[PASAR], name="Sari")
    agents.decline(u["branch"], a.pk, note="sudah menjadi kader")
    a.refresh_from_db()
    assert a.status == AssignmentStatus.DECLINED and a.decision_note == "sudah menjadi kader"


def test_the_flow_through_the_agents_page(world):
    u = world.users
    page = client_for(u["dinkes"]).post(
        "/campaigns/agents/",
        {"action": "recommend", "regency": "15.02", "villages": DUSUN_BARU, "name": "Dewi"},
        follow=True,
    )
    html = page.content.decode()
    assert "Rekomendasi dicatat" in html and "Dewi" in html
    assert "(Dinkes " in html and "(dinkes)" not in html  # the office in words, not its code
    a = agents.AgentAssignment.objects.for_user(u["branch"]).get()
    page = client_for(u["branch"]).post(
        "/campaigns/agents/", {"action": "approve", "pk": a.pk, "username": "agen-dewi"},
        follow=True,
    )  # fmt: skip
    html = page.content.decode()
    assert "Agen disetujui dan ditugaskan" in html and "agen-dewi" in html
    figures = client_for(u["admin"]).get("/campaigns/agents/?region=15.02&month=2024-06")
    assert (
        figures.status_code == 200 and "Capaian bulanan terhadap target" in figures.content.decode()
    )
    # an agent cannot open the page, a Pemda user cannot approve through it
    assert client_for(u["agent"]).get("/campaigns/agents/").status_code == 403
    b = agents.recommend(u["dinkes"], regency_code="15.02", village_codes=[PASAR], name="Eko")
    client_for(u["dinkes"]).post(
        "/campaigns/agents/", {"action": "approve", "pk": b.pk, "username": "agen-eko"}
    )
    b.refresh_from_db()
    assert b.status == AssignmentStatus.RECOMMENDED


# --- plausibility -----------------------------------------------------------------------------

VILLAGE_POINT = (-2.08, 102.27)


def _items(village: str, n: int, sweep) -> list[WorklistItem]:
    start = WorklistItem.objects.unscoped(reason="test").count()
    return [
        WorklistItem.objects.create(
            kk=f"{village.replace('.', '')[:6]}99{start + i:08d}",
            village_id=village,
            head_name=f"K{i}",
            first_as_of=date(2024, 6, 1),
            last_as_of=date(2024, 6, 1),
            sweep=sweep,
        )
        for i in range(n)
    ]


def _visit(item, agent, day, outcome=Outcome.WILL_REGISTER, at=None, point=VILLAGE_POINT,
           source=Source.API) -> Visit:  # fmt: skip
    v = Visit.objects.create(
        client_id=f"v-{Visit.objects.unscoped(reason='test').count()}-{item.pk}", item=item,
        agent=agent, date=day, outcome=outcome, latitude=Decimal(str(point[0])),
        longitude=Decimal(str(point[1])), source=source,
    )  # fmt: skip
    recorded = at or timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(
        hours=14
    )
    Visit.objects.unscoped(reason="test").filter(pk=v.pk).update(created_at=recorded)
    return v


def test_plausibility_flags_catch_the_seeded_visits_and_nothing_else(world):
    agent, agent2 = world.users["agent"], world.users["agent2"]
    sweep = world.item(DUSUN_BARU).sweep
    families = _items(DUSUN_BARU, 13, sweep)
    odd = _items(DUSUN_BARU, 4, sweep)  # the families of the seeded visits
    start = date(2024, 6, 3)
    outcomes = [Outcome.WILL_REGISTER, Outcome.REFUSED, Outcome.NEEDS_PBI, Outcome.NOT_FOUND]
    # Normal work: five families a day, nearby, by day, a second visit with a new outcome.
    for d in range(5):
        for k in range(5):
            item = families[(5 * d + k) % 13]
            jitter = (VILLAGE_POINT[0] + 0.002 * k, VILLAGE_POINT[1] - 0.002 * d)
            _visit(item, agent, start + timedelta(days=d), outcomes[(d + k) % 4], point=jitter)
    seeded = set()
    future = _visit(odd[0], agent, start + timedelta(days=3),
                    at=timezone.make_aware(datetime(2024, 6, 4, 9)))  # fmt: skip
    seeded.add(("FUTURE", future.pk))
    night = _visit(odd[1], agent, start, Outcome.REFUSED, source=Source.WEB,
                   at=timezone.make_aware(datetime(2024, 6, 3, 23, 30)))  # fmt: skip
    seeded.add(("NIGHT", night.pk))
    far = _visit(odd[2], agent, start + timedelta(days=1), point=(-2.5, 102.7))
    seeded.add(("FAR", far.pk))
    abroad = _visit(odd[3], agent, start + timedelta(days=2), point=(1.35, 103.8 + 40))
    seeded.add(("FAR", abroad.pk))
    stuck = _items(DUSUN_BARU, 1, sweep)[0]
    for d in range(3):
        last = _visit(stuck, agent, start + timedelta(days=d), Outcome.NOT_FOUND,
                      point=VILLAGE_POINT)  # fmt: skip
    seeded.add(("REPEAT", last.pk))
    for item in _items(OUTSIDE, 25, sweep):
        _visit(item, agent2, start + timedelta(days=4))
    seeded.add(("BURST", None))
    request = RegistrationRequest.objects.create(
        client_id="r-1", village_id=PASAR, kk="1502050101209999", segment="PBPU",
        faskes_code="0001", status=RequestStatus.UNCONFIRMED, agent=agent,
        exported_at=timezone.make_aware(datetime(2024, 6, 3, 10)),
    )  # fmt: skip
    seeded.add(("NEVER_CONFIRMED", request.pk))

    found = plausibility.flags_for(world.users["branch"], "15.02", start, start + timedelta(6))
    got = {(f.kind, f.request_id if f.kind == "NEVER_CONFIRMED" else f.visit_id) for f in found}
    assert got == seeded
    burst = next(f for f in found if f.kind == "BURST")
    assert burst.agent == agent2.username and "25" in burst.detail
    assert all(f.label for f in found)


def test_flags_need_personal_access(world):
    with pytest.raises(PermissionDenied):
        plausibility.flags_for(world.users["viewer"], "15.02", date(2024, 6, 1), date(2024, 7, 1))


# --- the leaflet ------------------------------------------------------------------------------


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "leaflet.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _rehab(item: WorklistItem) -> None:
    member = WorklistMember.objects.unscoped(reason="test").filter(item=item).first()
    WorklistMember.objects.unscoped(reason="test").filter(pk=member.pk).update(
        status="INACTIVE", pathway="REHAB", arrears_months=6, arrears_amount=210000
    )


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils (pdftoppm) not installed")
def test_the_leaflet_states_the_pathway_and_is_masked_for_masked_roles(world, tmp_path):
    item = world.item(DUSUN_BARU)
    _rehab(item)
    full_nik = "1502055506820002"
    pdf, name = leaflet.render_pdf(world.users["agent"], item.pk)
    assert pdf.startswith(b"%PDF") and name == f"leaflet-{item.pk}.pdf"
    (tmp_path / "full.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(tmp_path / "full.pdf"),
                    str(tmp_path / "page")], check=True)  # fmt: skip
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1 and pages[0].stat().st_size > 10_000  # one printable page
    text = pdf_text(pdf, tmp_path)
    assert "JKN untuk keluarga Anda" in text and "BUDI SANTOSO" in text
    assert "Pendaftaran mandiri" in text and "REHAB" in text and "210.000" in text
    assert "Rp 35.000" in text and "Jangan menunggu sampai sakit" in text
    assert full_nik in text and item.kk in text
    masked_pdf, _name = leaflet.render_pdf(world.users["dinkes"], item.pk)
    masked = pdf_text(masked_pdf, tmp_path)
    assert "Pendaftaran mandiri" in masked and "BUDI SANTOSO" in masked
    assert full_nik not in masked and item.kk not in masked and "1502************" in masked
    logs = AccessLog.objects.filter(kind=AccessKind.EXPORT, region_code=DUSUN_BARU)
    assert [(x.username, x.full_identifiers) for x in logs.order_by("at")] == [
        ("f-agent", True),
        ("f-dinkes", False),
    ]


def test_the_leaflet_is_refused_to_viewers_and_outside_the_scope(world):
    item = world.item(DUSUN_BARU)
    with pytest.raises(PermissionDenied):
        leaflet.build(world.users["viewer"], item.pk)
    with pytest.raises(PermissionDenied):
        leaflet.build(world.users["agent2"], item.pk)
    assert (
        client_for(world.users["kerinci"]).get(f"/campaigns/family/{item.pk}/").status_code == 403
    )


def test_the_family_page_has_the_whatsapp_link_without_identifiers(world):
    item = world.item(DUSUN_BARU)
    page = client_for(world.users["agent"]).get(f"/campaigns/family/{item.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "https://wa.me/?text=" in html
    content = leaflet.build(world.users["agent"], item.pk)
    text = unquote(leaflet.whatsapp_link(content).split("text=", 1)[1])
    assert "BUDI SANTOSO" in text and "Pendaftaran mandiri" in text
    assert item.kk not in text and "1502051005800001" not in text
    assert "Bagikan lewat WhatsApp" in html and "Jangan menunggu sampai sakit" in html
    family_page = client_for(world.users["agent"]).get(f"/sweep/item/{item.pk}/").content.decode()
    assert f"/campaigns/family/{item.pk}/" in family_page


def test_scripts_page_covers_every_pathway(world):
    html = client_for(world.users["agent"]).get("/campaigns/scripts/").content.decode()
    for title in ("Usulan PBI", "Pendaftaran mandiri", "REHAB", "pemberi kerja", "Dukcapil"):
        assert title in html
    assert "kartu yang aktif" in html


# --- campaigns ----------------------------------------------------------------------------------


@pytest.fixture
def oku_officer(db):
    load_regions(within="16.09")
    user = User.objects.create_user("oku-officer", password=PASSWORD, role="regency",
                                    office="dinkes")  # fmt: skip
    Scope.objects.create(user=user, region_id="16.09")
    return user


def test_choosing_tanjung_sari_shows_the_three_villages_with_their_districts(oku_officer):
    c = services.create_campaign(oku_officer, name="Desa Fokus", region_code="16.09",
                                 start=date(2024, 5, 1), end=date(2024, 12, 31),
                                 offices=["dinkes", "bpjs", "nonsense"])  # fmt: skip
    assert c.offices == ["dinkes", "bpjs"]
    found = services.search_villages(c, "Tanjung Sari")
    assert {v.code: v.parent.name for v in found} == TANJUNG_SARI
    html = client_for(oku_officer).get(f"/campaigns/{c.pk}/?q=Tanjung+Sari").content.decode()
    for code, district in TANJUNG_SARI.items():
        assert code in html and district in html
    client_for(oku_officer).post(
        f"/campaigns/{c.pk}/villages/", {"code": "16.09.05.2008", "kind": "coverage", "value": "95"}
    )
    assert [f.village_id for f in services.focus_villages(c)] == ["16.09.05.2008"]


def _campaign(user, region: str):
    period = {"start": date(2024, 5, 1), "end": date(2024, 6, 1), "offices": []}
    return services.create_campaign(user, name="x", region_code=region, **period)


def test_campaign_rules(oku_officer, world):
    with pytest.raises(ValidationError):  # a village is not a campaign's region
        _campaign(oku_officer, "16.09.05.2008")
    with pytest.raises(PermissionDenied):  # outside the scope
        _campaign(oku_officer, "15.02")
    c = _campaign(oku_officer, "16.09")
    with pytest.raises(ValidationError):  # a village of another regency
        services.add_focus_village(oku_officer, c, DUSUN_BARU, "coverage", Decimal(95))
    with pytest.raises(ValidationError):
        services.add_focus_village(oku_officer, c, "16.09.05.2008", "coverage", Decimal(120))
    with pytest.raises(PermissionDenied):  # an agent does not manage campaigns
        services.add_focus_village(world.users["agent"], c, "16.09.05.2008", "people", Decimal(9))
    assert client_for(world.users["branch"]).get(f"/campaigns/{c.pk}/").status_code == 403


def test_the_report_section_for_monev(oku_officer, world):
    from django.template.loader import render_to_string
    from django.utils import translation

    from pesiar.campaigns import report

    c = _campaign(oku_officer, "16.09")
    services.add_focus_village(oku_officer, c, "16.09.05.2008", "coverage", Decimal(95))
    mine = report.section(oku_officer, "16.09", date(2024, 5, 15))
    assert [s.campaign for s in mine] == [c] and len(mine[0].progress) == 1
    assert not mine[0].coverage.available and mine[0].coverage.warnings
    assert [s.campaign for s in report.section(None, "16.09.05", None)] == [c]  # command line
    assert report.section(world.users["branch"], "", None) == []  # Merangin's branch
    assert report.section(oku_officer, "16.09", date(2024, 4, 30)) == []  # not started yet
    with translation.override("id"):
        html = render_to_string("campaigns/_report_section.html", {"sections": mine})
    assert "Kampanye" in html and "Tanjung Sari" in html and "Simpang" in html
    assert "Belum ada angka desa dari sebelum dan sesudah kampanye dimulai." in html


def _figures_over(dates: list[date], gains: list[float], focus: set[str]) -> None:
    """Village figures of OKU Selatan on `dates`; focus villages gain `gains[k]` (share of the
    population) more than the others in period k, every village a little noise."""
    from pesiar.coverage.models import Indicator
    from pesiar.coverage.services import pct
    from pesiar.linkage.models import LinkRun
    from pesiar.regions.models import Level, Region
    from pesiar.registers.models import Snapshot

    rng = np.random.default_rng(5)
    villages = list(Region.objects.filter(code__startswith="16.09.", level=Level.VILLAGE))
    pop = {v.code: int(rng.integers(150, 600)) for v in villages}
    reg = {v.code: int(pop[v.code] * rng.uniform(0.7, 0.85)) for v in villages}
    rows = []
    for k, as_of in enumerate(dates):
        snaps = [
            Snapshot.objects.create(kind=kind, as_of=as_of, source_name="t", sha256=kind + str(k))
            for kind in ("population", "membership")
        ]
        run = LinkRun.objects.create(as_of=as_of, population=snaps[0], membership=snaps[1],
                                     status=LinkRun.Status.DONE, folder="t")  # fmt: skip
        for v in villages:
            if k:
                extra = gains[k - 1] if v.code in focus else 0
                reg[v.code] = min(
                    pop[v.code], reg[v.code] + int(pop[v.code] * (rng.uniform(0, 0.02) + extra))
                )
            r, p = reg[v.code], pop[v.code]
            rows.append(Indicator(as_of=as_of, region=v, level=Level.VILLAGE, run=run, population=p,
                                  registered=r, active=r * 3 // 4, coverage_pct=pct(r, p),
                                  active_pct=pct(r * 3 // 4, p), to_target_coverage=0,
                                  to_target_active=0, uhc_class="", segments={}))  # fmt: skip
    Indicator.objects.bulk_create(rows)


@pytest.mark.parametrize("pre_gain, warned", [(0.0, False), (0.08, True)])
def test_a_difference_before_the_start_warns_that_the_estimate_may_be_biased(
    oku_officer, pre_gain, warned
):
    from pesiar.campaigns import effect

    focus = {"16.09.05.2008", "16.09.09.2010", "16.09.09.2007", "16.09.12.2021", "16.09.12.2005"}
    dates = [date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)]
    _figures_over(dates, [pre_gain, 0.08], focus)
    est = effect.estimate("16.09", dates[1], sorted(focus), as_of=dates[2])
    assert est.significant and est.low <= 8 <= est.high + 1
    assert est.pre_trend == pytest.approx(100 * pre_gain, abs=1.5)
    assert any("bias" in w for w in est.warnings) is warned  # "mungkin bias"

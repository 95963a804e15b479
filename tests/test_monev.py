"""Monev: dashboards, map, rankings, trends and the meeting report, on the mapped scenario.

The scenario (30,000 residents) is generated, imported and mapped once for the module, into the
test database, with the month before it for the trend and the churn radar; the module
removes what it made when it ends.
"""

import io
import json
import re
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse

from pesiar.accounts.models import User
from pesiar.accounts.services import ensure_user
from pesiar.coverage.models import Change, Indicator
from pesiar.demo.generator.months import write_months
from pesiar.linkage.models import LinkRun, ReviewItem
from pesiar.linkage.pipeline import run_map
from pesiar.monev import geo, services
from pesiar.monev import report as reports
from pesiar.monev.models import Boundary
from pesiar.registers.models import Finding, ImportJob, Snapshot
from pesiar.registers.services import import_register

ARTEFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"
AS_OF = date(2024, 6, 1)
EARLIER = date(2024, 5, 1)
PASSWORD = "monev-Test-2024!"
MERANGIN = "15.02"
DUSUN_BARU = "15.02.05.1002"
SUNGAI_JERING = "15.02.17.2006"
# Users of this module: name -> (role, scopes, office)
USERS = {
    "monev-admin": ("admin", (), ""),
    "monev-jambi": ("province", ("15",), ""),
    "monev-merangin": ("regency", (MERANGIN,), "dinkes"),
    "monev-branch": ("branch", ("15.02", "15.03", "15.01"), ""),
    "monev-agent": ("agent", (DUSUN_BARU, "15.02.05.1003"), ""),
    "monev-viewer": ("viewer", ("15",), ""),
}


def build_world(scenario) -> None:
    """Import and map the scenario and the month before it (the churn radar compares them)."""
    (month,) = write_months(scenario, months=1)
    import_register("population", month.population, EARLIER)
    import_register("membership", month.membership, EARLIER)
    run_map(EARLIER)
    for kind in ("population", "membership"):
        import_register(kind, scenario.path(kind), AS_OF)
    run_map(AS_OF)
    for name, (role, scopes, office) in USERS.items():
        ensure_user(name, role=role, scopes=scopes, password=PASSWORD, office=office or None)


def clear_world() -> None:
    Change.objects.unscoped(reason="test teardown").delete()
    Boundary.objects.unscoped(reason="test teardown").delete()
    Indicator.objects.unscoped(reason="test teardown").delete()
    ReviewItem.objects.unscoped(reason="test teardown").delete()
    LinkRun.objects.all().delete()
    Finding.objects.unscoped(reason="test teardown").delete()
    ImportJob.objects.all().delete()
    Snapshot.objects.all().delete()
    User.objects.filter(username__in=USERS).delete()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory, scenario):
    with (
        override_settings(DATA_DIR=tmp_path_factory.mktemp("monev-data")),
        django_db_blocker.unblock(),
    ):
        clear_world()
        build_world(scenario)
        yield
        clear_world()


@pytest.fixture(autouse=True)
def no_shipped_outlines(settings):
    """Maps here use the outlines each test imports (one test loads the shipped ones)."""
    settings.PESIAR = {**settings.PESIAR, "MONEV": {"SHIPPED_BOUNDARIES": False}}


@pytest.fixture(autouse=True)
def fresh_cache():
    """Dashboards are cached; each test starts without."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def users(world, db) -> dict[str, User]:
    return {name: User.objects.get(username=name) for name in USERS}


def client_for(user: User, language: str = "id") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def text(response) -> str:
    return response.content.decode()


def cells(page: str, table_id: str) -> list[str]:
    """The text of the first cell of each body row of table `table_id`."""
    body = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return [
        re.sub(r"<[^>]+>", "", row).strip() for row in re.findall(r"<tr[^>]*><td>(.*?)</td>", body)
    ]


# --- the dashboard ------------------------------------------------------------------------------


def test_merangin_dashboard_shows_the_published_figures(users):
    client = client_for(users["monev-merangin"])
    response = client.get("/monev/", follow=True)
    assert response.redirect_chain[-1][0] == "/monev/r/15.02/"
    page = text(response)
    assert 'id="kpi-coverage">78,42%' in page
    assert 'id="kpi-active">55,05%' in page
    assert 'id="kpi-rank">10 / 11' in page
    assert cells(page, "lowest")[0] == "Dusun Baru"
    assert cells(page, "highest")[0] == "Sungai Jering"
    # people to the targets: ceil(0.98 x population) - registered
    merangin = Indicator.objects.for_user(users["monev-merangin"]).get(
        as_of=AS_OF, region_id=MERANGIN
    )
    assert f"{merangin.to_target_active:,}".replace(",", ".") in page

    english = text(client_for(users["monev-merangin"], "en").get("/monev/r/15.02/"))
    assert 'id="kpi-coverage">78.42%' in english and "Lowest villages" in english


def test_dashboard_drills_down_from_the_nation_to_a_village(users):
    client = client_for(users["monev-admin"])
    nation = text(client.get("/monev/"))
    assert 'href="/monev/r/15/"' in nation and "Indonesia" in nation
    province = text(client.get("/monev/r/15/"))
    assert 'href="/monev/r/15.02/"' in province and "Kabupaten Merangin" in province
    regency = text(client.get("/monev/r/15.02/"))
    assert 'href="/monev/r/15.02.05/"' in regency
    district = text(client.get("/monev/r/15.02.05/"))
    assert f'href="/monev/r/{DUSUN_BARU}/"' in district
    village = client.get(f"/monev/r/{DUSUN_BARU}/")
    assert village.status_code == 200 and 'id="kpi-active">48,28%' in text(village)
    # the breadcrumb leads back up
    assert 'href="/monev/r/15.02/"' in text(village)


def test_the_nation_is_the_sum_of_the_provinces(users):
    board = services.dashboard(users["monev-admin"], services.NATION, AS_OF)
    provinces = Indicator.objects.for_user(users["monev-admin"]).filter(as_of=AS_OF, level=1)
    assert board.figures.population == sum(p.population for p in provinces)
    assert board.figures.active == sum(p.active for p in provinces)
    assert [c.code for c in board.children] == ["15"]
    assert board.figures.rank is None


def test_segments_reasons_findings_and_trend(users):
    board = services.dashboard(users["monev-merangin"], MERANGIN)
    f = board.figures
    assert board.as_of == AS_OF and board.dates == [AS_OF, EARLIER]
    assert sum(s.count for s in board.segments) == f.registered
    assert sum(r.count for r in board.reasons) == f.inactive
    assert board.findings_total > 0  # the scenario's registers carry noise
    assert [t.as_of for t in board.trend] == [EARLIER, AS_OF]
    assert board.trend[0].active_pct < board.trend[1].active_pct
    earlier = services.dashboard(users["monev-merangin"], MERANGIN, EARLIER)
    assert earlier.as_of == EARLIER and earlier.figures.active == board.trend[0].active
    # a date without figures falls back to the latest one before it
    assert services.dashboard(users["monev-merangin"], MERANGIN, date(2024, 4, 15)).as_of == EARLIER
    page = text(client_for(users["monev-merangin"]).get("/monev/r/15.02/?as_of=2024-05-01"))
    assert '<option value="2024-05-01" selected>' in page and "<polyline" in page


def test_scoped_users_see_their_own_regions_and_their_peers_figures(users):
    regency = client_for(users["monev-merangin"])
    # the peers: the other regencies of Jambi, the province, the other provinces (figures only)
    for url in ("/monev/r/15.71/", "/monev/r/15/", "/monev/r/15.71/map/"):
        assert regency.get(url).status_code == 200, url
    peer = text(regency.get("/monev/r/15.71/"))
    assert 'id="lowest"' not in peer and 'id="churn"' not in peer  # no villages of a peer
    ranking = text(regency.get("/monev/ranking/?level=regency&within=15"))
    assert ranking.count('data-code="15.') == 11
    # below a peer: nothing
    for url in ("/monev/r/15.71.01/", "/monev/ranking/?within=15.71.01", "/monev/r/15.01.01/"):
        assert regency.get(url).status_code == 404, url
    villages = text(regency.get("/monev/ranking/?level=village&within=15"))
    codes = re.findall(r'data-code="([0-9.]+)"', villages)
    assert "Sungai Jering" in villages and codes and all(c.startswith("15.02.") for c in codes)
    page = text(regency.get("/monev/r/15.02/"))
    assert 'id="peers"' in page and "Kerinci" in page and "Kota Jambi" in page
    assert "ke-10 dari 11 kabupaten/kota di Jambi" in page

    branch = text(client_for(users["monev-branch"]).get("/monev/"))
    for name in ("Kabupaten Merangin", "Kabupaten Sarolangun", "Kabupaten Kerinci"):
        assert name in branch
    assert "Batang Hari" not in branch and "Kota Jambi" not in branch
    english = text(client_for(users["monev-branch"], "en").get("/monev/"))
    assert "Your regions" in english

    agent = client_for(users["monev-agent"])
    page = text(agent.get("/monev/"))
    assert "Dusun Baru" in page and "Pasar Rantau Panjang" in page and "Koto Rayo" not in page
    assert agent.get("/monev/r/15.02.05/").status_code == 200  # the district of the villages
    assert agent.get("/monev/r/15.02.06.2001/").status_code == 404  # a village of another

    viewer = client_for(users["monev-viewer"])
    assert viewer.get("/monev/", follow=True).redirect_chain[-1][0] == "/monev/r/15/"
    assert viewer.get("/monev/r/15.02/report.xlsx").status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(world, client):
    for url in (
        "/monev/",
        "/monev/r/15.02/",
        "/monev/ranking/",
        "/monev/r/15.02/report.pdf",
        "/monev/r/15.02/sections/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_dashboard_and_ranking_take_a_handful_of_queries(users, django_assert_max_num_queries):
    client = client_for(users["monev-admin"])
    client.get("/monev/r/15.02/")  # warm the session
    with django_assert_max_num_queries(25):
        assert client.get("/monev/r/15.02/").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get("/monev/ranking/?within=15.02").status_code == 200


def test_pages_without_figures_say_what_to_do(db, world):
    user = User.objects.get(username="monev-admin")
    Indicator.objects.for_user(user).filter(as_of=EARLIER).delete()
    Indicator.objects.for_user(user).filter(as_of=AS_OF).update(as_of=date(1990, 1, 1))
    client = client_for(user, "en")
    page = text(client.get("/monev/r/15.02/?as_of=2024-06-01"))  # the latest date before it
    assert '<option value="1990-01-01" selected>' in page
    Indicator.objects.for_user(user).filter(region__pk__startswith="15.02").delete()
    cache.clear()  # rows deleted without new ones: the cache lasts its CACHE_SECONDS
    page = text(client.get("/monev/r/15.02/"))
    assert "pesiar map --as-of DATE" in page
    assert "pesiar map" in text(client.get("/monev/r/15.02/map/"))
    assert client.get("/monev/r/15.02/report.pdf").status_code == 404
    Indicator.objects.for_user(user).delete()
    cache.clear()
    assert "pesiar map" in text(client.get("/monev/ranking/"))
    assert "pesiar map" in text(client.get("/monev/"))


# --- optional sections (sweep and field) --------------------------------------------------------


def test_worklist_budget_and_agent_sections_appear_when_present(users, monkeypatch):
    import importlib

    calls = {}

    def fake(name, value):
        def func(*args):
            calls[name] = args
            return value

        return func

    sweep = importlib.import_module("pesiar.sweep.services")
    field = importlib.import_module("pesiar.field.services")
    monkeypatch.setattr(
        sweep,
        "worklist_progress",
        fake("worklist", {"families": 40, "open": 30, "visited": 12, "closed": 10, "members": 77}),
        raising=False,
    )
    monkeypatch.setattr(
        sweep,
        "budget_total",
        fake("total", {"pbi_people": 120, "yearly_cost": 60_480_000, "premium_per_month": 42_000}),
        raising=False,
    )
    monkeypatch.setattr(
        sweep,
        "budget_by_region",
        fake(
            "lines",
            [
                {
                    "code": "15.02.05",
                    "name": "Bangko",
                    "level": 3,
                    "pbi_people": 120,
                    "yearly_cost": 60_480_000,
                },
                {
                    "code": "15.02.06",
                    "name": "Nalo Tantan",
                    "level": 3,
                    "pbi_people": 0,
                    "yearly_cost": 0,
                },
            ],
        ),
        raising=False,
    )
    kpi = {
        "agent": 7,
        "name": "Siti Aminah",
        "villages": ["Dusun Baru"],
        "families_visited": 25,
        "registrations_submitted": 9,
        "confirmed": 6,
        "activated": 5,
        "events": 2,
        "attendance": 80,
    }
    monkeypatch.setattr(field, "agent_kpis", fake("agents", [kpi]), raising=False)

    user = users["monev-merangin"]
    dashboard = text(client_for(user, "en").get("/monev/r/15.02/"))
    assert 'data-src="/monev/r/15.02/sections/?as_of=2024-06-01&amp;partial=1"' in dashboard
    assert "Siti Aminah" not in dashboard  # loaded after the figures
    page = text(client_for(user, "en").get("/monev/r/15.02/sections/?partial=1"))
    assert "<html" not in page
    page = text(client_for(user, "en").get("/monev/r/15.02/sections/"))
    assert "<html" in page and 'id="worklist"' in page and "Families on the worklists" in page
    assert 'id="budget"' in page and "60,480,000" in page and "Bangko" in page
    assert 'id="agents"' in page and "Siti Aminah" in page
    # the month the snapshot closes (today is far past it: not stretched to today)
    assert calls["agents"][1] == MERANGIN and calls["agents"][3] == AS_OF
    assert calls["agents"][2] == EARLIER + timedelta(days=1)

    book = load_book(reports.write_xlsx(reports.build(user, MERANGIN, AS_OF)))
    assert [c.value for c in book["Agen"][2]][:3] == ["Siti Aminah", "Dusun Baru", 25]
    assert book["Anggaran"]["C2"].value == 120

    # a failing section is an error of the page, not a section silently left out
    monkeypatch.setattr(field, "agent_kpis", lambda *a: 1 / 0, raising=False)
    cache.clear()
    with pytest.raises(ZeroDivisionError):
        client_for(user).get("/monev/r/15.02/sections/")


def test_sections_are_left_out_when_the_apps_have_nothing(users, monkeypatch):
    from pesiar.field import services as field_services
    from pesiar.sweep import services as sweep_services

    monkeypatch.setattr(sweep_services, "worklist_progress", lambda *a: None)
    monkeypatch.setattr(sweep_services, "budget_total", lambda *a: None)
    monkeypatch.setattr(field_services, "agent_kpis", lambda *a: [])
    board = services.dashboard(users["monev-merangin"], MERANGIN)
    assert board.worklist is None and board.budget is None and board.agents is None
    page = text(client_for(users["monev-merangin"]).get("/monev/r/15.02/sections/"))
    assert 'id="agents"' not in page and 'id="budget"' not in page


# --- rankings -----------------------------------------------------------------------------------


def test_ranking_sorts_filters_and_pages(users):
    client = client_for(users["monev-merangin"], "en")
    page = text(client.get("/monev/ranking/?level=village&within=15.02&sort=active&dir=asc"))
    rows = re.findall(r'<tr class="(\w*)" data-code="([\d.]+)"', page)
    assert rows[0] == ("bottom", DUSUN_BARU)
    first_page = [code for _cls, code in rows]
    assert len(first_page) == 50 and 'rel="next"' in page
    page = text(client.get("/monev/ranking/?level=village&within=15.02&sort=active&dir=desc"))
    rows = re.findall(r'<tr class="(\w*)" data-code="([\d.]+)"', page)
    assert rows[0] == ("top", SUNGAI_JERING)
    assert sum(1 for cls, _c in rows if cls == "top") == 10

    table = services.ranking(users["monev-merangin"], level=4, as_of=AS_OF, within="15.02")
    total = table.total
    assert (
        total
        == Indicator.objects.for_user(users["monev-merangin"])
        .filter(as_of=AS_OF, level=4, region__pk__startswith="15.02.", population__gt=0)
        .count()
    )
    assert len(table.top) == len(table.bottom) == 10 and not table.top & table.bottom
    last = services.ranking(users["monev-merangin"], level=4, as_of=AS_OF, within="15.02", page=99)
    assert last.page.number == last.page.paginator.num_pages
    assert DUSUN_BARU in {r.code for r in last.rows}  # the last of the ranking

    by_name = services.ranking(
        users["monev-merangin"], level=3, as_of=AS_OF, sort="name", descending=False
    )
    names = [r.name for r in by_name.rows]
    # the database's collation: plain, or (PostgreSQL, en_US) ignoring spaces and case
    plain, linguistic = sorted(names), sorted(names, key=lambda n: n.replace(" ", "").casefold())
    assert names in (plain, linguistic) and len(names) == 24

    found = text(client.get("/monev/ranking/?level=village&q=Dusun+Baru"))
    assert "Dusun Baru" in found and "Sungai Jering" not in found
    pratama = services.ranking(users["monev-merangin"], level=4, as_of=AS_OF, uhc_class="PRATAMA")
    assert pratama.total and all(r.uhc_class == "PRATAMA" for r in pratama.rows)


# --- the map and boundaries ---------------------------------------------------------------------


def square(x: float, y: float, size: float = 0.1) -> list[list[float]]:
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]


def district_geojson(users, *, undotted: bool = True, extra: bool = True) -> dict:
    """Square outlines for the districts of Merangin (code property KODE_KEC, no dots), plus a
    feature with an unknown code."""
    districts = services.children_figures(users["monev-admin"], MERANGIN, AS_OF)
    features = [
        {
            "type": "Feature",
            "properties": {"KODE_KEC": d.code.replace(".", "") if undotted else d.code},
            "geometry": {"type": "Polygon", "coordinates": [square(101 + i * 0.1, -2.0)]},
        }
        for i, d in enumerate(districts)
    ]
    if extra:
        features.append(
            {
                "type": "Feature",
                "properties": {"name": "Pulau Hantu", "kode": "99.99.99"},
                "geometry": {"type": "Polygon", "coordinates": [square(0, 0)]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def test_map_falls_back_to_a_ranked_grid_without_boundaries(users):
    client = client_for(users["monev-merangin"], "en")
    page = text(client.get("/monev/r/15.02/map/"))
    assert 'class="grid-map"' in page and '<svg class="choropleth"' not in page
    tiles = re.findall(r'<li style="background: (#\w+)" data-code="([\d.]+)"', page)
    assert len(tiles) == 24
    assert tiles[0][0] == services.PALETTE[-1] and tiles[-1][0] == services.PALETTE[0]
    assert "pesiar" not in page.split("<footer", 1)[0].split("</header>", 1)[-1].lower()
    assert "no outlines for these regions yet" in page
    coverage = text(client.get("/monev/r/15.02/map/?metric=coverage"))
    assert 'aria-current="true">Coverage %' in coverage


def test_a_map_without_outlines_loads_the_shipped_ones(users, settings):
    settings.PESIAR = {**settings.PESIAR, "MONEV": {"SHIPPED_BOUNDARIES": True}}
    try:
        page = text(client_for(users["monev-merangin"]).get("/monev/r/15.02/map/"))
        assert '<svg class="choropleth"' in page
        drawn = re.findall(r'<path d="[^"]+" fill="#\w+"[^>]*data-code="([\d.]+)"', page)
        assert len(set(drawn)) == 24
        village = text(client_for(users["monev-merangin"]).get("/monev/r/15.02.05/map/"))
        assert village.count("<path ") >= 10
        assert Boundary.objects.unscoped(reason="test").filter(source__startswith="jambi-").exists()
    finally:
        Boundary.objects.unscoped(reason="test teardown").delete()


def test_boundaries_import_and_the_choropleth(users, tmp_path, capsys):
    path = tmp_path / "kecamatan.geojson"
    path.write_text(json.dumps(district_geojson(users)))
    call_command("boundaries", str(path))
    out = capsys.readouterr().out
    assert "25 features, 24 matched" in out and "Pulau Hantu" in out
    assert Boundary.objects.for_user(users["monev-admin"]).filter(level=3).count() == 24

    page = text(client_for(users["monev-merangin"]).get("/monev/r/15.02/map/"))
    assert '<svg class="choropleth"' in page
    assert len(re.findall(r"<path d=\"M", page)) == 24
    assert 'class="grid-map"' not in page
    # the regency map of the province draws Merangin with its districts' outlines
    province = text(client_for(users["monev-admin"]).get("/monev/r/15/map/"))
    assert province.count('data-code="15.02"') == 24
    assert "Without an outline" in province or "Tanpa" in province
    # importing again updates
    call_command("boundaries", str(path), "--within", "15.02")
    assert "0 new, 24 updated" in capsys.readouterr().out


def test_boundaries_from_topojson(users, tmp_path):
    villages = list(
        Indicator.objects.for_user(users["monev-admin"])
        .filter(as_of=AS_OF, level=4, region__pk__startswith="15.02.05.")
        .values_list("region_id", flat=True)
    )
    # Quantised, delta-encoded arcs; each village a square made of two arcs, the second one
    # used reversed (~index) as TopoJSON allows.
    arcs, geometries = [], []
    for i, code in enumerate(villages):
        x = i * 10
        arcs.append([[x, 0], [10, 0], [0, 10]])  # (x,0) -> (x+10,0) -> (x+10,10)
        arcs.append([[x, 0], [0, 10], [10, 0]])  # (x,0) -> (x,10) -> (x+10,10)
        geometries.append(
            {
                "type": "Polygon",
                "arcs": [[2 * i, ~(2 * i + 1)]],
                "properties": {"KODE_DESA": code.replace(".", ""), "NAMOBJ": code},
            }
        )
    topology = {
        "type": "Topology",
        "transform": {"scale": [0.001, 0.001], "translate": [102.0, -2.5]},
        "objects": {"desa": {"type": "GeometryCollection", "geometries": geometries}},
        "arcs": arcs,
    }
    path = tmp_path / "desa.topojson"
    path.write_text(json.dumps(topology))
    features = geo.read_features(path)
    assert len(features) == len(villages)
    ring = features[0].polygons[0][0]
    assert ring[0] == ring[-1] and len(ring) == 5
    assert {(round(x, 3), round(y, 3)) for x, y in ring} == {
        (102.0, -2.5),
        (102.01, -2.5),
        (102.01, -2.49),
        (102.0, -2.49),
    }
    report = services.import_boundaries(path)
    assert report.matched == len(villages) and not report.unmatched
    assert report.by_level == {4: len(villages)}
    district = text(client_for(users["monev-merangin"]).get("/monev/r/15.02.05/map/"))
    assert len(re.findall(r"<path d=\"M", district)) == len(villages)


def test_boundary_files_that_are_not_maps_fail_clearly(db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    with pytest.raises(CommandError, match="not a JSON file"):
        call_command("boundaries", str(bad))
    bad.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(CommandError, match="no feature matched"):
        call_command("boundaries", str(bad))
    bad.write_text("[]")
    with pytest.raises(CommandError, match="neither GeoJSON nor TopoJSON"):
        call_command("boundaries", str(bad))
    out = io.StringIO()
    call_command("regions", "load", "--within", "15", stdout=out)
    assert "Nothing changed" in out.getvalue()


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1502052001", "15.02.05.2001"),
        ("15.02.05.2001", "15.02.05.2001"),
        (1502, "15.02"),
        ("ID1502", "15.02"),
        ("15", "15"),
        (" 15.02.05 ", "15.02.05"),
        ("150205", "15.02.05"),
        (1502052001.0, "15.02.05.2001"),
        ("Merangin", None),
        ("15020", None),
        (None, None),
        (True, None),
    ],
)
def test_region_codes_are_read_dotted_or_not(value, code):
    assert geo.normalise_code(value) == code


def test_simplify_keeps_the_shape_and_drops_what_does_not_show():
    ring = [(i / 100, 0.0) for i in range(101)] + [(1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]
    small = geo.simplify(ring, 0.001)
    assert small[0] == small[-1] and len(small) <= 6
    assert {(1.0, 0.0), (1.0, 1.0), (0.0, 1.0)} <= set(small)
    line = geo.outline([[ring]], 0.001)
    assert line.bbox == (0.0, 0.0, 1.0, 1.0) and line.path.startswith("M0 0L") and "-1" in line.path


# --- the report -----------------------------------------------------------------------------------


def load_book(content: bytes):
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(content))


def test_report_xlsx_has_the_expected_sheets(users):
    content, content_type, filename = reports.export(
        users["monev-merangin"], MERANGIN, None, "xlsx"
    )
    assert filename == "monev-15.02-2024-06-01.xlsx" and "spreadsheet" in content_type
    book = load_book(content)
    assert book.sheetnames == list(reports.SHEETS)
    summary = {row[0].value: row[1].value for row in book["Ringkasan"].iter_rows() if row[0].value}
    assert "Kabupaten Merangin (15.02)" in summary.values()
    assert 78.42 in summary.values() and 55.05 in summary.values() and "10 / 11" in summary.values()
    ranking = list(book["Peringkat"].iter_rows(min_row=2, values_only=True))
    assert len(ranking) == 24 and ranking[0][0] == 1
    villages = {row[0]: row for row in book["Desa"].iter_rows(min_row=2, values_only=True)}
    assert villages[DUSUN_BARU][1] == "Dusun Baru" and villages[DUSUN_BARU][6] == 48.28
    trend = list(book["Tren"].iter_rows(min_row=2, values_only=True))
    assert [row[0].date() for row in trend] == [EARLIER, AS_OF]

    def rows(sheet) -> list[tuple]:
        out = [tuple(row) for row in book[sheet].iter_rows(values_only=True) if row[0]]
        return [row[: max(i for i, v in enumerate(row) if v is not None) + 1] for row in out]

    churn = rows("Perubahan")
    assert churn[0] == ("Penyebab", "Jiwa", "Kehilangan kepesertaan aktif")
    causes = {row[0]: row[1] for row in churn[1:] if len(row) == 3 and row[2] in ("ya", "tidak")}
    assert {"PBI dinonaktifkan", "Tunggakan PBPU", "Baru terdaftar", "Aktif kembali"} <= set(causes)
    board = services.dashboard(users["monev-merangin"], MERANGIN)
    assert sum(causes.values()) == sum(n for _c, _l, n, _loss in board.churn.totals)
    path = rows("Jalan")
    assert path[0] == ("Jalur", "Jiwa yang dapat dijangkau", "Dibutuhkan untuk menutup selisih")
    needed = sum(row[2] for row in path[1:] if len(row) == 3 and isinstance(row[2], int))
    assert needed == board.figures.to_target_active


def pdf_text(path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils (pdftoppm) not installed")
def test_report_pdf_renders_from_the_command_line(world, db, tmp_path, capsys):
    out = tmp_path / "merangin.pdf"
    call_command(
        "report", "--region", "15.02", "--as-of", "2024-06-15", "--format", "pdf", "--out", str(out)
    )
    assert "Report written" in capsys.readouterr().out
    assert out.read_bytes().startswith(b"%PDF")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(out), str(tmp_path / "page")],
        check=True,
    )
    png = next(tmp_path.glob("page*.png"))
    assert png.stat().st_size > 10_000
    from PIL import Image

    with Image.open(png) as image:
        assert image.size[0] > 300 and len(image.convert("RGB").getcolors(1 << 20)) > 20
    words = pdf_text(out)
    assert "Kabupaten Merangin" in words and "Juni 2024" in words  # the report speaks Indonesian
    assert "78,42%" in words and "55,05%" in words and "10 / 11" in words
    assert "Dusun Baru" in words and "Sungai Jering" in words
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(png, ARTEFACTS / "monev-report-page1.png")


SLIDES = (
    "Angka utama dan perubahannya",
    "Dibandingkan dengan wilayah setara",
    "Peta: Kecamatan",
    "Desa terendah dan rencananya",
    "Radar perubahan kepesertaan",
    "Jalan menuju 98/75",
    "Agen",
    "Anggaran PBI-APBD",
)


def test_report_pdf_ends_with_landscape_slides(world, db, tmp_path):
    out = tmp_path / "slides.pdf"
    call_command("report", "--region", "15.02", "--format", "pdf", "--out", str(out))
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))
    sizes = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", str(pages), str(out)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    landscape = [
        int(n)
        for n, w, h in re.findall(r"Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+)", sizes)
        if float(w) > float(h)
    ]
    assert len(landscape) == len(SLIDES) and landscape[-1] == pages  # one page per slide
    first = landscape[0]
    assert landscape == list(range(first, pages + 1))
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for number, heading in zip(landscape, SLIDES, strict=True):
        words = subprocess.run(
            ["pdftotext", "-f", str(number), "-l", str(number), "-layout", str(out), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert heading in " ".join(words.split()), (number, heading)
        prefix = tmp_path / f"slide-{number}"
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "40",
                "-f",
                str(number),
                "-l",
                str(number),
                str(out),
                prefix,
            ],
            check=True,
        )
        png = next(tmp_path.glob(f"slide-{number}*.png"))
        from PIL import Image

        with Image.open(png) as image:
            assert image.size[0] > image.size[1]  # landscape
        shutil.copy(png, ARTEFACTS / f"monev-slide-{number - first + 1}.png")
    text_all = pdf_text(out)
    assert re.search(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", text_all) is None  # words, not codes


def test_report_downloads_from_the_dashboard(users):
    client = client_for(users["monev-merangin"], "en")
    page = text(client.get("/monev/r/15.02/"))
    pdf_url = re.search(r'id="download-pdf" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    response = client.get(pdf_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert 'filename="monev-15.02-2024-06-01.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    xlsx = client.get(reverse("monev:report_xlsx", args=["15.02.05"]) + "?as_of=2024-05-01")
    assert load_book(xlsx.content).sheetnames == list(reports.SHEETS)
    assert "2024-05-01" in xlsx["Content-Disposition"]
    top = client_for(users["monev-branch"]).get(reverse("monev:report_xlsx_top"))
    ranking = [
        row[2] for row in load_book(top.content)["Peringkat"].iter_rows(min_row=2, values_only=True)
    ]
    assert set(ranking) == {"Kabupaten Merangin", "Kabupaten Sarolangun", "Kabupaten Kerinci"}


def test_report_command_fails_clearly(world, db, tmp_path):
    with pytest.raises(CommandError, match="unknown region"):
        call_command("report", "--region", "99.99", "--out", str(tmp_path / "x.pdf"))
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("report", "--format", "docx")
    with pytest.raises(CommandError, match="outside monev-merangin's scope"):
        call_command("report", "--region", "15.71.01", "--user", "monev-merangin")
    with pytest.raises(CommandError, match="no active user"):
        call_command("report", "--user", "nobody")


def test_report_command_as_a_user(world, db, tmp_path, capsys):
    out = tmp_path / "branch.xlsx"
    call_command("report", "--user", "monev-branch", "--format", "xlsx", "--out", str(out))
    book = load_book(out.read_bytes())
    names = {row[2] for row in book["Peringkat"].iter_rows(min_row=2, values_only=True)}
    assert names == {"Kabupaten Merangin", "Kabupaten Sarolangun", "Kabupaten Kerinci"}


def test_colour_classes_run_from_the_lowest_to_the_highest():
    values = [Decimal(v) for v in range(50, 60)] + [Decimal("99")]  # one far ahead
    bounds = services.bins(values)
    assert bounds[0] == Decimal("50") and len(bounds) == len(services.PALETTE)
    fills = [services.colour(v, bounds) for v in values]
    assert fills[0] == services.PALETTE[0] and fills[-1] == services.PALETTE[-1]
    assert len(set(fills)) == len(services.PALETTE)  # the outlier does not flatten the rest
    assert services.colour(None, bounds) == services.NO_DATA
    few = services.bins([Decimal("60"), Decimal("60"), Decimal("70")])
    assert few == [Decimal("60"), Decimal("70")]
    assert [services.colour(Decimal(v), few) for v in (60, 70)] == [
        services.PALETTE[0],
        services.PALETTE[-1],
    ]
    assert len(services.legend(few, Decimal("70"))) == 2


# --- every link a page shows answers -----------------------------------------------------------

HREF = re.compile(r'href="(/[^"#]*)"')
NOT_CRAWLED = ("/static/", "/logout", "/admin/logout", "/i18n/")


def crawl(client: Client, start: str, limit: int = 45) -> list[tuple[str, str, int]]:
    """Follow the links the pages show (breadth first, up to `limit` pages; each download
    kind once): (page, link, status) of every link that answers 4xx or 5xx."""
    seen, queue, failures, downloads = {start}, [start], [], set()
    pages = 0
    while queue and pages < limit:
        page = queue.pop(0)
        response = client.get(page)
        pages += 1
        if response.status_code >= 400:
            failures.append(("", page, response.status_code))
            continue
        if "html" not in response.get("Content-Type", ""):
            continue
        for link in HREF.findall(response.content.decode()):
            link = link.replace("&amp;", "&")
            if link in seen or link.startswith(NOT_CRAWLED):
                continue
            seen.add(link)
            kind = link.split("?")[0].rsplit(".", 1)[-1]
            if kind in ("pdf", "xlsx", "csv"):
                if kind in downloads:
                    continue
                downloads.add(kind)
                status = client.get(link).status_code
                if status >= 400:
                    failures.append((page, link, status))
                continue
            queue.append(link)
    for link in queue:  # links found but not opened: they must answer too
        status = client.get(link).status_code
        if status >= 400:
            failures.append(("(queued)", link, status))
    return failures


@pytest.mark.parametrize("username", sorted(USERS))
def test_no_link_a_page_shows_answers_4xx_or_5xx(users, username):
    client = client_for(users[username])
    failures = crawl(client, "/monev/")
    if username in ("monev-branch", "monev-merangin", "monev-jambi"):
        failures += crawl(client, "/sweep/budget/", limit=10)  # the budget drill-down
    assert failures == []


# --- small counts -------------------------------------------------------------------------------


def test_viewers_see_no_figures_of_small_villages(users, settings, monkeypatch):
    """A viewer (aggregates only) sees neither counts nor percentages of a village under the
    small-count size: not on the district page, the map, the village's own page, the ranking
    or the report; officers still see them all."""
    district = "15.02.05"
    villages = list(
        Indicator.objects.unscoped(reason="test")
        .filter(as_of=AS_OF, level=4, region__pk__startswith=district + ".", population__gt=0)
        .order_by("population", "region_id")
    )
    small = villages[len(villages) // 2]  # half the district's villages fall under the size
    monkeypatch.setitem(settings.PESIAR["MONEV"], "SMALL_COUNT", small.population + 1)
    hidden = {v.region_id for v in villages if v.population <= small.population}
    viewer, officer = users["monev-viewer"], users["monev-merangin"]

    board = services.dashboard(viewer, district, AS_OF, extras=False)
    rows = {c.code: c for c in board.children}
    assert board.hidden_small == len(hidden) and {c for c in rows if rows[c].hidden} == hidden
    for code in hidden:
        assert rows[code].coverage_pct is None and rows[code].registered is None
        assert rows[code].population > 0  # the size itself is shown
    assert [c.hidden for c in board.children] == sorted(c.hidden for c in board.children)
    page = text(client_for(viewer, "en").get(f"/monev/r/{district}/"))
    assert 'id="children-hidden"' in page
    assert f"{small.coverage_pct:.2f}" not in cells_row(page, "children", small.region.name)

    own = text(client_for(viewer, "en").get(f"/monev/r/{small.region_id}/"))
    assert 'id="small-hidden"' in own and 'id="kpi-coverage"' not in own
    assert 'id="quality"' not in own  # deceased still listed, in a village of ten, is a person
    village_board = services.dashboard(viewer, small.region_id, AS_OF, extras=False)
    assert village_board.segments == [] and village_board.figures.deceased_listed is None
    drawn = client_for(viewer, "en").get(f"/monev/r/{district}/map/")
    assert drawn.status_code == 200 and small.region.name in text(drawn)

    ranked = services.ranking(viewer, level=4, as_of=AS_OF, within=district, per_page=500)
    assert ranked.hidden_small == len(hidden)
    assert not {r.code for r in ranked.rows} & hidden

    book = load_book(reports.write_xlsx(reports.build(viewer, district, AS_OF)))
    desa = {row[0].value: row for row in book["Desa"].iter_rows(min_row=2)}
    assert desa[small.region_id][5].value is None and desa[small.region_id][2].value > 0
    for code in (district, small.region_id):  # the PDF too, the small village's own included
        assert reports.render_pdf(reports.build(viewer, code, AS_OF)).startswith(b"%PDF")

    cache.clear()
    seen = services.dashboard(officer, district, AS_OF, extras=False)
    assert seen.hidden_small == 0 and not any(c.hidden for c in seen.children)
    assert services.ranking(officer, level=4, as_of=AS_OF, within=district).hidden_small == 0


def cells_row(page: str, table_id: str, name: str) -> str:
    """The HTML of the row of table `table_id` that names `name`."""
    body = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return next(row for row in re.findall(r"<tr.*?</tr>", body, flags=re.S) if name in row)

"""The Monev pages in a real browser: headless Chromium through Selenium, against live_server.

Each test saves a screenshot into var/test-artifacts/. The tests are skipped when Chromium is
missing, except in CI (CI=true), where they must run.

live_server needs transactional database access, whose clean-up empties every table after each
test; so the mapped scenario is built once, kept as serialized rows, put back before each test,
and the regions the session starts with are loaded again when the module ends.
"""

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core import serializers
from django.core.cache import cache
from django.test import override_settings

from pesiar.accounts.models import Scope, User
from pesiar.coverage.models import Change, Indicator
from pesiar.linkage.models import LinkRun
from pesiar.monev.services import import_boundaries
from pesiar.registers.models import Finding, Snapshot
from test_monev import DUSUN_BARU, PASSWORD, USERS, build_world, clear_world, square

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTEFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"
HAVE_CHROMIUM = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()

pytestmark = pytest.mark.skipif(
    not HAVE_CHROMIUM and os.environ.get("CI") != "true",
    reason="chromium and chromium-driver are not installed (they must be in CI)",
)


def _dump() -> list[tuple[type, str]]:
    """The rows of the world, serialized, in the order they can be put back."""
    return [
        (Snapshot, serializers.serialize("json", Snapshot.objects.all())),
        (LinkRun, serializers.serialize("json", LinkRun.objects.all())),
        (Indicator, serializers.serialize("json", Indicator.objects.unscoped(reason="test"))),
        (Change, serializers.serialize("json", Change.objects.unscoped(reason="test"))),
        (Finding, serializers.serialize("json", Finding.objects.unscoped(reason="test"))),
        (User, serializers.serialize("json", User.objects.filter(username__in=USERS))),
        (Scope, serializers.serialize("json", Scope.objects.filter(user__username__in=USERS))),
    ]


@pytest.fixture(scope="module")
def saved_world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[list]:
    with (
        override_settings(DATA_DIR=tmp_path_factory.mktemp("browser-data")),
        django_db_blocker.unblock(),
    ):
        clear_world()
        build_world(tmp_path_factory)
        dump = _dump()
        clear_world()
        yield dump


@pytest.fixture
def site(saved_world, live_server, settings) -> str:
    """The live server's address, with the world in its database."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    cache.clear()
    for model, data in saved_world:
        model.objects.bulk_create([o.object for o in serializers.deserialize("json", data)])
    return live_server.url


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1600",
        "--lang=id",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "intl.accept_languages": "id,en",
        },
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.downloads = downloads
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def shot(driver, name: str) -> Path:
    path = ARTEFACTS / f"browser-{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 5_000
    return path


def login(driver, site: str, username: str = "monev-merangin") -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(site + "/login/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for(lambda: "/login/" not in driver.current_url)


def wait_for(condition, timeout: float = 10.0) -> None:
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except WebDriverException:  # the page is being replaced
            pass
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_login_leads_an_official_to_the_dashboard(browser, site):
    from selenium.webdriver.common.by import By

    login(browser, site)
    browser.get(site + "/monev/")
    assert browser.current_url.endswith("/monev/r/15.02/")
    assert browser.find_element(By.ID, "kpi-coverage").text == "78,42%"
    assert browser.find_element(By.ID, "kpi-active").text == "55,05%"
    assert browser.find_element(By.ID, "kpi-rank").text == "10 / 11"
    # the agents' section (field app) arrives after the figures
    wait_for(lambda: browser.find_element(By.ID, "more-sections").get_attribute("data-loaded"))
    assert browser.find_elements(By.CSS_SELECTOR, "#more-sections #agents")
    shot(browser, "login-dashboard")


def test_dashboard_drills_down_to_a_village(browser, site):
    from selenium.webdriver.common.by import By

    login(browser, site)
    browser.get(site + "/monev/r/15.02/")
    browser.find_element(By.CSS_SELECTOR, "#children a[href='/monev/r/15.02.05/']").click()
    wait_for(lambda: browser.current_url.endswith("/monev/r/15.02.05/"))
    assert "Tabir" in browser.find_element(By.TAG_NAME, "h1").text
    browser.find_element(By.CSS_SELECTOR, f"#children a[href='/monev/r/{DUSUN_BARU}/']").click()
    wait_for(lambda: browser.current_url.endswith(f"/monev/r/{DUSUN_BARU}/"))
    assert "Dusun Baru" in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.find_element(By.ID, "kpi-active").text == "48,28%"
    shot(browser, "drill-down-village")
    # back up through the breadcrumb, and switch to English
    browser.find_element(By.CSS_SELECTOR, ".breadcrumb a[href='/monev/r/15.02/']").click()
    wait_for(lambda: browser.current_url.endswith("/monev/r/15.02/"))
    browser.find_element(By.CSS_SELECTOR, "form.lang button[value=en]").click()
    wait_for(lambda: "Lowest villages" in browser.page_source)
    assert browser.find_element(By.ID, "kpi-coverage").text == "78.42%"
    shot(browser, "dashboard-english")
    browser.find_element(By.CSS_SELECTOR, "form.lang button[value=id]").click()
    wait_for(lambda: browser.find_element(By.ID, "kpi-coverage").text == "78,42%")


def test_ranking_sorts_by_a_column(browser, site):
    from selenium.webdriver.common.by import By

    login(browser, site)
    browser.get(site + "/monev/ranking/?level=village&within=15.02")
    first = browser.find_element(By.CSS_SELECTOR, "#ranking tbody tr").get_attribute("data-code")
    assert first == "15.02.17.2006"  # Sungai Jering, the best
    assert browser.find_elements(By.CSS_SELECTOR, "#ranking tbody tr.top")
    browser.find_element(By.CSS_SELECTOR, "#ranking th a[data-sort=active]").click()  # desc
    wait_for(lambda: "sort=active" in browser.current_url)
    browser.find_element(By.CSS_SELECTOR, "#ranking th a[data-sort=active]").click()  # asc
    wait_for(lambda: "dir=asc" in browser.current_url)
    row = browser.find_element(By.CSS_SELECTOR, "#ranking tbody tr")
    assert row.get_attribute("data-code") == DUSUN_BARU
    assert "bottom" in row.get_attribute("class")
    shot(browser, "ranking-sorted")
    browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
    wait_for(lambda: "page=2" in browser.current_url)
    shot(browser, "ranking-page-2")


def test_map_renders(browser, site):
    from selenium.webdriver.common.by import By

    login(browser, site)
    browser.get(site + "/monev/r/15.02/map/")
    tiles = browser.find_elements(By.CSS_SELECTOR, ".grid-map li")
    assert len(tiles) == 24
    colours = {t.value_of_css_property("background-color") for t in tiles}
    assert len(colours) >= 3
    shot(browser, "map-grid")
    # with outlines: the choropleth
    codes = [t.get_attribute("data-code") for t in tiles]
    features = [
        {
            "type": "Feature",
            "properties": {"kode": code},
            "geometry": {
                "type": "Polygon",
                "coordinates": [square(101.5 + (i % 6) * 0.1, -2.0 - (i // 6) * 0.1)],
            },
        }
        for i, code in enumerate(codes)
    ]
    path = browser.downloads / "districts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    assert import_boundaries(path).matched == 24
    browser.get(site + "/monev/r/15.02/map/?metric=coverage")
    shapes = browser.find_elements(By.CSS_SELECTOR, "svg.choropleth path")
    assert len(shapes) == 24 and shapes[0].size["width"] > 20
    shot(browser, "map-choropleth")


def test_report_downloads(browser, site):
    from selenium.webdriver.common.by import By

    login(browser, site)
    browser.get(site + "/monev/r/15.02/")
    shot(browser, "report-links")
    for link, suffix in (("download-pdf", ".pdf"), ("download-xlsx", ".xlsx")):
        browser.find_element(By.ID, link).click()
        target = browser.downloads / f"monev-15.02-2024-06-01{suffix}"
        wait_for(target.exists, timeout=30)
        wait_for(lambda t=target: t.stat().st_size > 1000, timeout=10)
    pdf = browser.downloads / "monev-15.02-2024-06-01.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    shutil.copy(pdf, ARTEFACTS / "browser-report.pdf")

"""The Monev pages in a real browser: headless Chromium through Selenium, against live_server.

Each test saves a screenshot into var/test-artifacts/. The tests are skipped when Chromium is
missing, except in CI (CI=true), where they must run.

live_server needs transactional database access, whose clean-up empties every table after each
test; so the mapped scenario is built once, kept as serialized rows, put back before each test,
and the regions the session starts with are loaded again when the module ends.
"""

import os
import re
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
from pesiar.registers.models import Finding, Snapshot
from test_monev import DUSUN_BARU, PASSWORD, USERS, build_world, clear_world

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
def saved_world(django_db_setup, django_db_blocker, tmp_path_factory, scenario) -> Iterator[list]:
    with (
        override_settings(DATA_DIR=tmp_path_factory.mktemp("browser-data")),
        django_db_blocker.unblock(),
    ):
        clear_world()
        build_world(scenario)
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
    driver.set_page_load_timeout(120)  # a report is rendered on the click; the machine may be busy
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


def test_map_draws_polygons_for_merangins_districts_and_villages(browser, site):
    from selenium.webdriver.common.by import By

    login(browser, site)
    browser.get(site + "/monev/r/15.02/map/")  # no outlines yet: the shipped ones are loaded
    shapes = browser.find_elements(By.CSS_SELECTOR, "svg.choropleth path")
    assert len({s.get_attribute("data-code") for s in shapes}) == 24
    assert shapes[0].size["width"] > 5
    assert len({s.get_attribute("fill") for s in shapes}) >= 3
    assert not browser.find_elements(By.CSS_SELECTOR, ".grid-map")
    title = shapes[0].find_element(By.TAG_NAME, "title").get_attribute("textContent")
    assert "%" in title and "," in title  # the tooltip: name and figure, Indonesian numbers
    shot(browser, "map-districts")
    browser.get(site + "/monev/r/15.02.05/map/")
    villages = browser.find_elements(By.CSS_SELECTOR, "svg.choropleth path")
    assert len({v.get_attribute("data-code") for v in villages}) >= 10
    shot(browser, "map-villages")
    # drill down by a click on the map
    from selenium.webdriver.common.action_chains import ActionChains

    largest = max(villages, key=lambda v: v.size["width"] * v.size["height"])
    ActionChains(browser).move_to_element(largest).click().perform()  # whichever is there
    wait_for(lambda: re.search(r"/monev/r/15\.02\.05\.\d{4}/$", browser.current_url))
    shot(browser, "map-drilled-to-village")


def test_a_regency_officer_sees_the_jambi_regencies_ranked(browser, site):
    from selenium.webdriver.common.by import By

    login(browser, site)
    browser.get(site + "/monev/ranking/?level=regency&within=15")
    rows = browser.find_elements(By.CSS_SELECTOR, "#ranking tbody tr")
    assert len(rows) == 11
    assert "Kota Jambi" in browser.find_element(By.ID, "ranking").text
    merangin = browser.find_element(By.CSS_SELECTOR, "#ranking tr[data-code='15.02']")
    assert merangin.find_elements(By.TAG_NAME, "td")[0].text == "10"
    shot(browser, "ranking-regencies")
    browser.get(site + "/monev/r/15.02/")
    assert "ke-10 dari 11 kabupaten/kota di Jambi" in browser.find_element(By.ID, "rank-text").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#peer-table tbody tr")) == 11
    shot(browser, "dashboard-peers")


def test_every_figure_has_a_change_and_the_churn_panel_lists_causes(browser, site):
    from selenium.webdriver.common.by import By

    login(browser, site)
    browser.get(site + "/monev/r/15.02/")
    kpis = browser.find_elements(By.CSS_SELECTOR, ".headline .kpi")
    assert len(kpis) == 5
    for kpi in kpis:
        assert kpi.find_elements(By.CSS_SELECTOR, ".change, #change-uhc"), kpi.text
    assert "poin" in browser.find_element(By.ID, "change-active").text
    for table in ("children", "lowest", "highest", "peer-table"):
        rows = browser.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")
        assert rows and all(r.find_elements(By.CSS_SELECTOR, ".change") for r in rows), table
    causes = browser.find_element(By.ID, "churn-causes").text
    for word in ("PBI dinonaktifkan", "Tunggakan PBPU", "Baru terdaftar", "Aktif kembali"):
        assert word.lower() in causes.lower(), word
    assert browser.find_elements(By.CSS_SELECTOR, "#churn-regions tbody tr")
    assert "jiwa aktif" in browser.find_element(By.ID, "path-forecast").text
    browser.execute_script("document.getElementById('churn').scrollIntoView()")
    shot(browser, "dashboard-churn")


UPPER_SNAKE = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")


def test_no_raw_code_in_the_page_text(browser, site):
    from selenium.webdriver.common.by import By

    for user, pages in (
        (
            "monev-merangin",
            [
                "/monev/r/15.02/",
                "/monev/r/15.02/map/",
                "/monev/ranking/",
                "/monev/r/15.02/sections/",
                f"/monev/r/{DUSUN_BARU}/",
            ],
        ),
        ("monev-viewer", ["/monev/r/15/", "/monev/ranking/?level=regency"]),
    ):
        login(browser, site, user)
        for page in pages:
            browser.get(site + page)
            text = browser.find_element(By.TAG_NAME, "body").text
            assert not UPPER_SNAKE.findall(text), (user, page, UPPER_SNAKE.findall(text))
    shot(browser, "no-raw-codes")


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

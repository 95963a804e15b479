"""The agent's day in a real browser: headless Chromium through Selenium against live_server,
in Bahasa Indonesia, on a 360 px phone. Each step checks the rows saved in the database and
that nothing is hidden or cut off (no data cell with display:none, no horizontal scroll).
The offline test switches the network off through the DevTools protocol. Screenshots go to
var/test-artifacts/."""

import os
import shutil
import time
from datetime import date
from pathlib import Path

import pytest
from django.utils import timezone

from field_world import DUSUN_BARU, PASAR, build_world, write_parquet
from pesiar.field import services
from pesiar.field.models import Event, RegistrationPerson, RegistrationRequest, Visit
from pesiar.registers.models import Snapshot

ARTIFACTS = Path(__file__).resolve().parents[1] / "var" / "test-artifacts"
CHROMIUM, DRIVER = shutil.which("chromium") or "/usr/bin/chromium", "/usr/bin/chromedriver"
MISSING = not (Path(CHROMIUM).exists() and Path(DRIVER).exists())
PASSWORD = "pesiar-Test-pass-1"

pytestmark = pytest.mark.skipif(
    MISSING and os.environ.get("CI") != "true", reason="headless Chromium is not installed"
)

# Every element in the page's main part that holds data, and everything cut off: the page
# must show all of it on a 360 px screen.
HIDDEN = """
return [...document.querySelectorAll('main td, main th, main li, main .card, main .meta')]
  .filter(e => getComputedStyle(e).display === 'none' && e.textContent.trim()).length;
"""
SMALL = """
return [...document.querySelectorAll('main a.button, main button, main select, main input')]
  .filter(e => e.offsetParent !== null && e.type !== 'checkbox' && e.type !== 'radio'
    && e.type !== 'hidden' && e.getBoundingClientRect().height < 44)
  .map(e => e.outerHTML.slice(0, 80));
"""
CUT = """
return [...document.querySelectorAll('main *')].filter(e => {
  const s = getComputedStyle(e);
  return (s.overflowX === 'hidden' || s.textOverflow === 'ellipsis')
    && e.scrollWidth > e.clientWidth + 1;
}).length;
"""


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--lang=id")
    options.add_experimental_option("prefs", {"intl.accept_languages": "id,id-ID"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 360, "height": 780, "deviceScaleFactor": 2, "mobile": True},
    )
    driver.execute_cdp_cmd(
        "Network.setUserAgentOverride",
        {"userAgent": driver.execute_script("return navigator.userAgent"), "acceptLanguage": "id"},
    )
    yield driver
    driver.quit()


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    world = build_world()
    # the village's participants use two FKTPs (KD_PPK in the membership snapshot)
    snapshot = Snapshot.objects.create(
        kind="membership", as_of=date(2024, 7, 1), source_name="test", sha256="m2",
        folder="registers/membership/2024-07-01/test",
    )  # fmt: skip
    write_parquet(
        snapshot.data_file,
        [("0000000000001", "1502050303700004", "RUDI", "ACTIVE", DUSUN_BARU, "1502P001")]
        + [
            (f"00000000001{i}", f"150205000000000{i}", "X", "ACTIVE", DUSUN_BARU, "1502P002")
            for i in range(2)
        ],
        "noka VARCHAR, nik VARCHAR, name VARCHAR, status VARCHAR, village_code VARCHAR, "
        "faskes_code VARCHAR",
    )
    return world


def wait_for(condition, timeout: float = 20.0):
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError("timed out waiting")
        time.sleep(0.2)


def check_page(driver, name: str) -> None:
    """The page is in Bahasa Indonesia, fits 360 px and hides no data; a screenshot."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"phone-{name}.png"))
    assert driver.execute_script("return document.documentElement.lang") == "id", name
    width = driver.execute_script("return window.innerWidth")
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    assert width == 360 and scroll <= width, f"{name}: {scroll}px wide on a {width}px screen"
    assert driver.execute_script(HIDDEN) == 0, f"{name}: data hidden with display:none"
    assert driver.execute_script(CUT) == 0, f"{name}: text cut off"
    assert driver.execute_script(SMALL) == [], f"{name}: tap targets under 44 px"


def login(driver, site: str) -> None:
    driver.get(site + "/login/")
    driver.find_element("id", "id_username").send_keys("f-agent")
    driver.find_element("id", "id_password").send_keys(PASSWORD)
    driver.find_element("css selector", "form button.primary").click()
    wait_for(lambda: "/login/" not in driver.current_url)


def click_text(driver, text: str, scope=None) -> None:
    (scope or driver).find_element(
        "xpath", f".//*[self::a or self::button][normalize-space()='{text}']"
    ).click()


def people(request: RegistrationRequest) -> int:
    return RegistrationPerson.objects.unscoped(reason="test").filter(request=request).count()


def card(driver, item_id: int):
    return driver.find_element("css selector", f'li.card[data-item="{item_id}"]')


def test_the_agents_day_at_360px_in_bahasa_indonesia(world, live_server, browser):
    site = live_server.url
    item = world.item(DUSUN_BARU)
    login(browser, site)
    browser.get(site + "/field/")
    assert "Desa saya" in browser.find_element("tag name", "h1").text
    header = browser.find_element("css selector", "header.topbar").rect["height"]
    assert header <= 60, f"the header takes {header}px"
    check_page(browser, "worklist")

    # a visit with the date the form offers (today, as the phone's date input needs it)
    click_text(browser, "Catat kunjungan", card(browser, item.pk))
    date_input = browser.find_element("name", "date")
    assert date_input.get_attribute("value") == timezone.localdate().isoformat()
    outcome = browser.find_element("name", "outcome")
    assert outcome.get_attribute("value") == ""  # no outcome chosen for the agent
    check_page(browser, "visit-form")
    from selenium.webdriver.support.ui import Select

    Select(outcome).select_by_value("WILL_REGISTER")
    browser.find_element("css selector", "form button.primary").click()
    wait_for(lambda: "/sweep/item/" in browser.current_url)
    visit = Visit.objects.unscoped(reason="test").get(item=item)
    assert (visit.date, visit.outcome) == (timezone.localdate(), "WILL_REGISTER")
    check_page(browser, "family")

    # the whole family, at a faskes the village already uses
    click_text(browser, "Daftarkan keluarga ini")
    boxes = browser.find_elements("css selector", 'input[name="member"]')
    assert len(boxes) == 3 and all(b.is_selected() for b in boxes)
    picks = browser.find_elements("css selector", 'input[name="faskes_pick"]')
    assert [p.get_attribute("value") for p in picks] == ["1502P002", "1502P001"]
    check_page(browser, "register-form")
    browser.execute_script("arguments[0].click()", picks[0])
    click_text(browser, "Ajukan pendaftaran")
    wait_for(lambda: "/field/registrations/" in browser.current_url)
    request = RegistrationRequest.objects.unscoped(reason="test").get(item=item)
    assert request.faskes_code == "1502P002" and people(request) == 3
    check_page(browser, "registration")

    # the list no longer offers to register that family, and shows its status
    browser.get(site + "/field/")
    family = card(browser, item.pk)
    assert "Daftarkan keluarga ini" not in family.text and "Lihat pendaftaran" in family.text
    assert "pendaftaran sedang diproses" in family.text

    # the sweep's worklist, as agents see it too, also fits
    browser.get(site + "/sweep/")
    check_page(browser, "sweep-worklist")

    # a socialisation event, again with the offered date
    browser.get(site + "/field/events/")
    browser.find_element("name", "attendees").send_keys("25")
    browser.find_element("css selector", "form button.primary").click()
    wait_for(lambda: Event.objects.unscoped(reason="test").exists())
    event = Event.objects.unscoped(reason="test").get()
    assert (event.date, event.attendees) == (timezone.localdate(), 25)
    check_page(browser, "events")


def offline(driver, off: bool) -> None:
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": off, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def fill_visit(driver, item_id: int, outcome: str) -> None:
    from selenium.webdriver.support.ui import Select

    tap(driver, f'li.card[data-item="{item_id}"] [data-visit]')
    Select(driver.find_element("id", "app-outcome")).select_by_value(outcome)
    driver.find_element("css selector", "#form-area button.primary").click()


def states(driver) -> list[str]:
    return sorted(driver.execute_script(
        "return [...document.querySelectorAll('#queue li.queued')].map(e => e.dataset.state)"
    ))  # fmt: skip


def tap(driver, selector: str) -> None:
    """Click what `selector` finds now (the app re-renders its lists as data arrives)."""
    wait_for(lambda: driver.execute_script(
        "const e = document.querySelector(arguments[0]); if (e) e.click(); return !!e;", selector
    ))  # fmt: skip


def test_the_offline_app_records_without_signal_and_syncs_once(world, live_server, browser):
    site = live_server.url
    home, pasar = world.item(DUSUN_BARU), world.item(PASAR)
    login(browser, site)
    browser.get(site + "/field/app/")
    wait_for(lambda: browser.execute_script("return document.body.dataset.appReady"))
    wait_for(lambda: len(browser.find_elements("css selector", "#items li.family")) == 2)
    assert browser.execute_script("return !!document.querySelector('link[rel=manifest]')")
    check_page(browser, "app")

    # another device records a visit to the PASAR family after this phone loaded it
    services.record_visit(
        world.users["agent"],
        services.VisitInput(item_id=pasar.pk, date=timezone.localdate(), outcome="NOT_FOUND",
                            client_id="other-device-1"),
    )  # fmt: skip

    offline(browser, True)
    wait_for(lambda: not browser.execute_script("return navigator.onLine"))
    fill_visit(browser, home.pk, "WILL_REGISTER")
    fill_visit(browser, pasar.pk, "REFUSED")  # a refusal needs its reason, beside the field
    assert browser.find_element("id", "app-reason-error").is_displayed()
    browser.find_element("id", "app-reason").send_keys("BELUM ADA UANG")
    browser.find_element("css selector", "#form-area button.primary").click()
    tap(browser, f'li.card[data-item="{home.pk}"] [data-register]')
    browser.find_element("id", "app-faskes_code").send_keys("1502P002")
    browser.find_element("css selector", "#form-area button.primary").click()
    wait_for(lambda: states(browser) == ["pending"] * 3)
    check_page(browser, "app-offline-queue")
    assert Visit.objects.unscoped(reason="test").filter(source="API").count() == 0

    offline(browser, False)
    wait_for(lambda: "pending" not in states(browser), timeout=40)
    assert states(browser) == ["conflict", "sent", "sent"]
    check_page(browser, "app-synced")

    # again (a retry, a reload): nothing is sent twice
    browser.find_element("id", "sync-now").click()
    browser.refresh()
    wait_for(lambda: browser.execute_script("return document.body.dataset.appReady"))
    time.sleep(1)
    visits = Visit.objects.unscoped(reason="test").filter(source="API")
    assert visits.count() == 2
    assert RegistrationRequest.objects.unscoped(reason="test").filter(item=home).count() == 1
    assert people(RegistrationRequest.objects.unscoped(reason="test").get(item=home)) == 3
    # the change made against the older version is flagged, and the other device's kept
    mine = visits.get(item=pasar)
    assert mine.conflict and mine.outcome == "REFUSED"
    assert not visits.get(item=home).conflict
    assert Visit.objects.unscoped(reason="test").filter(client_id="other-device-1").exists()
    assert not RegistrationRequest.objects.unscoped(reason="test").get(item=home).conflict

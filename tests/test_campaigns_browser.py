"""The campaign pages and the report section in a real browser (headless Chromium), in Bahasa
Indonesia: choosing "Tanjung Sari" by name lists the three villages with their districts, the
one chosen by code becomes a focus village, and the effect estimate reads plainly."""

from datetime import date

import numpy as np
import pytest
from django.core.cache import cache

from pesiar.accounts.models import Scope, User
from pesiar.campaigns.models import Campaign, FocusVillage
from pesiar.coverage.models import Indicator
from pesiar.coverage.services import pct
from pesiar.linkage.models import LinkRun
from pesiar.regions.models import Level, Region
from pesiar.regions.services import load_regions
from pesiar.registers.models import Snapshot
from test_browser import HAVE_CHROMIUM, browser, shot, wait_for  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.skipif(not HAVE_CHROMIUM, reason="chromium and chromium-driver are not installed"),
    pytest.mark.slow,
]
PASSWORD = "campaign-Test-2024!"
BEFORE, AFTER = date(2024, 5, 1), date(2024, 6, 1)
OTHER_FOCUS = ("16.09.09.2010", "16.09.09.2007", "16.09.12.2021", "16.09.12.2005")


def village_figures() -> None:
    """Two dates of village figures for OKU Selatan; the focus villages gain 8 points more."""
    rng = np.random.default_rng(3)
    runs = {}
    for as_of in (BEFORE, AFTER):
        snaps = [
            Snapshot.objects.create(
                kind=kind,
                as_of=as_of,
                source_name="test",
                sha256=kind + str(as_of),
                folder=f"registers/{kind}/{as_of}",
            )
            for kind in ("population", "membership")
        ]
        runs[as_of] = LinkRun.objects.create(
            as_of=as_of,
            population=snaps[0],
            membership=snaps[1],
            status=LinkRun.Status.DONE,
            folder="linkage/t",
        )
    rows = []
    focus = {"16.09.05.2008", *OTHER_FOCUS}
    for v in Region.objects.filter(code__startswith="16.09.", level=Level.VILLAGE):
        pop = int(rng.integers(150, 600))
        reg = int(pop * rng.uniform(0.7, 0.9))
        act = int(reg * rng.uniform(0.7, 0.9))
        gain = int(pop * (rng.uniform(0, 0.02) + (0.08 if v.code in focus else 0)))
        for as_of, r, a in (
            (BEFORE, reg, act),
            (AFTER, min(pop, reg + gain), min(pop, act + gain)),
        ):
            rows.append(
                Indicator(
                    as_of=as_of,
                    region=v,
                    level=Level.VILLAGE,
                    run=runs[as_of],
                    population=pop,
                    registered=r,
                    active=a,
                    coverage_pct=pct(r, pop),
                    active_pct=pct(a, pop),
                    to_target_coverage=0,
                    to_target_active=0,
                    uhc_class="",
                    segments={"PBI_APBN": r // 2, "PBPU": r // 4},
                )
            )
    Indicator.objects.bulk_create(rows)


@pytest.fixture
def site(live_server, settings) -> str:
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    load_regions(within="16.09")
    user = User.objects.create_user("oku-pemda", password=PASSWORD, role="regency", office="dinkes")
    Scope.objects.create(user=user, region_id="16.09")
    campaign = Campaign.objects.create(
        name="Desa Fokus OKU Selatan",
        region_id="16.09",
        start=BEFORE,
        end=date(2024, 12, 31),
        offices=["sekda", "dinkes", "bpjs"],
    )
    for code in OTHER_FOCUS:
        FocusVillage.objects.create(
            campaign=campaign, village_id=code, target_kind="coverage", target_value=95
        )
    village_figures()
    return live_server.url


def login(driver, site: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(site + "/login/")
    driver.find_element(By.NAME, "username").send_keys("oku-pemda")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for(lambda: "/login/" not in driver.current_url)


@pytest.mark.django_db(transaction=True)
def test_campaign_pages_and_report_section_in_indonesian(browser, site):  # noqa: F811
    from selenium.webdriver.common.by import By

    login(browser, site)
    browser.get(site + "/campaigns/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Kampanye"
    browser.find_element(By.LINK_TEXT, "Desa Fokus OKU Selatan").click()
    wait_for(lambda: browser.find_elements(By.ID, "village-search"))
    assert "Desa fokus" in browser.page_source and "Apakah berhasil?" in browser.page_source

    box = browser.find_element(By.CSS_SELECTOR, "#village-search input[name=q]")
    box.send_keys("Tanjung Sari")
    browser.find_element(By.CSS_SELECTOR, "#village-search button").click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#found li input"))
    choices = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#found li")]
    assert len(choices) == 3
    for district, code in (
        ("Simpang", "16.09.05.2008"),
        ("Buay Pemaca", "16.09.09.2019"),
        ("Buay Pematang Ribu Ranau Tengah", "16.09.12.2010"),
    ):
        assert any(
            c.startswith("Tanjung Sari") and f"Kecamatan {district} ·" in c and code in c
            for c in choices
        ), choices
    shot(browser, "campaign-tanjung-sari")
    browser.find_element(By.CSS_SELECTOR, "#found input[value='16.09.05.2008']").click()
    browser.find_element(By.CSS_SELECTOR, "#village-add button[value=add]").click()
    wait_for(lambda: "16.09.05.2008" in browser.find_element(By.ID, "focus").text)
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#focus tbody tr")]
    assert len(rows) == 5
    assert any("Tanjung Sari" in r and "Simpang" in r for r in rows)
    coverage = browser.find_element(By.CSS_SELECTOR, ".effect[data-measure=coverage]").text
    assert "Sekitar" in coverage and "orang lebih banyak terdaftar" in coverage
    assert "interval 95%" in coverage and "Metode:" in coverage

    browser.get(site + "/campaigns/report/?region=16.09&as_of=2024-06-15")
    section = browser.find_element(By.ID, "campaigns").text
    assert section.startswith("Kampanye") and "Desa Fokus OKU Selatan" in section
    assert "desa fokus sesuai jalur" in section and "Orang yang masih dibutuhkan" in section
    assert "Apakah berhasil? Peserta aktif" in section
    browser.set_window_size(390, 844)
    shot(browser, "campaign-report-phone")

"""Agents work on phones: the field pages fit a 360 px wide screen in a real browser
(headless Chromium), with screenshots in var/test-artifacts/."""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from field_world import DUSUN_BARU, build_world

ROOT = Path(__file__).resolve().parents[1]
CSS = ROOT / "src" / "pesiar" / "static" / "pesiar" / "pesiar.css"
FIELD_CSS = ROOT / "src" / "pesiar" / "field" / "static" / "field" / "field.css"
ARTIFACTS = ROOT / "var" / "test-artifacts"
CHROMIUM, DRIVER = shutil.which("chromium") or "/usr/bin/chromium", "/usr/bin/chromedriver"
MISSING = not (Path(CHROMIUM).exists() and Path(DRIVER).exists())

pytestmark = pytest.mark.skipif(
    MISSING and os.environ.get("CI") != "true", reason="headless Chromium is not installed"
)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 360, "height": 780, "deviceScaleFactor": 2, "mobile": True},
    )
    yield driver
    driver.quit()


def saved(client, url: str, name: str) -> Path:
    """The page as the server renders it, with the site's stylesheet, as a local file."""
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    html = re.sub(r'href="[^"]*pesiar\.css[^"]*"', f'href="{CSS.as_uri()}"', html)
    html = re.sub(r'href="[^"]*field\.css[^"]*"', f'href="{FIELD_CSS.as_uri()}"', html)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_field_pages_fit_a_360px_phone(db, settings, tmp_path, client, browser):
    settings.DATA_DIR = tmp_path / "data"
    world = build_world()
    client.force_login(world.users["agent"])
    item = world.item(DUSUN_BARU)
    pages = {
        "field-home": reverse("field:home"),
        "field-visit": reverse("field:visit_add", args=[item.pk]),
        "field-register": reverse("field:register_family", args=[item.pk]),
        "field-events": reverse("field:events"),
    }
    for name, url in pages.items():
        browser.get(saved(client, url, name).as_uri())
        width = browser.execute_script("return window.innerWidth")
        scroll = browser.execute_script("return document.documentElement.scrollWidth")
        browser.save_screenshot(str(ARTIFACTS / f"{name}-360.png"))
        assert width == 360, name
        assert scroll <= width, f"{name}: {scroll}px wide on a {width}px screen"
    # the form controls are usable: the visit form's outcome list fits the screen
    browser.get((ARTIFACTS / "field-visit.html").as_uri())
    select = browser.find_element("name", "outcome")
    assert select.rect["x"] + select.rect["width"] <= 360

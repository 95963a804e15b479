import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from pesiar.campaigns.models import Campaign, FocusVillage
from pesiar.coverage.models import Indicator
from pesiar.demo import oku, services
from pesiar.linkage.models import LinkRun


@pytest.mark.django_db
def test_demo_setup_creates_scenario_and_accounts(settings, tmp_path: Path, capsys):
    settings.DATA_DIR = tmp_path
    args = ["--no-serve", "--population", "30000", "--seed", "5", "--oku-population", "5000"]
    call_command("demo", *args)
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8000/" in out
    assert services.DEMO_PASSWORD in out
    scenario_json = tmp_path / "demo" / "jambi-30000-5" / "scenario.json"
    assert scenario_json.exists()
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(services.DEMO_PASSWORD)
    # OKU Selatan sits beside Jambi: its campaign on the five launch villages, its officers
    # and agents with the demo's password, and its residents in the same monthly maps.
    campaign = Campaign.objects.unscoped(reason="test").get()
    assert campaign.region_id == oku.REGENCY
    focus = FocusVillage.objects.unscoped(reason="test").filter(campaign=campaign)
    assert sorted(focus.values_list("village_id", flat=True)) == sorted(oku.FOCUS_VILLAGES)
    for name in (oku.PEMDA_USER, oku.BRANCH_USER, "agen-1"):
        assert name in out
        assert get_user_model().objects.get(username=name).check_password(services.DEMO_PASSWORD)
    runs = LinkRun.objects.filter(status=LinkRun.Status.DONE).order_by("as_of")
    assert [r.as_of for r in runs] == services.map_dates(services.ensure_scenario(30000, 5)[0])
    for code in ("15", oku.REGENCY):  # both regions counted in every monthly map
        assert all(
            Indicator.objects.unscoped(reason="test").filter(run=r, region_id=code).exists()
            for r in runs
        )

    call_command("demo", *args)
    again = capsys.readouterr().out
    assert "reused" in again and "already loaded" in again
    assert Campaign.objects.unscoped(reason="test").count() == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_demo_serves_a_page_a_new_user_can_log_into(tmp_path: Path):
    """`pesiar demo` on an empty data folder: the printed URL and login work."""
    port = _free_port()
    env = {**os.environ, "PESIAR_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pesiar",
            "demo",
            "--port",
            str(port),
            "--population",
            "30000",
            "--oku-population",
            "5000",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 300  # set-up on a busy machine
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl+C" in line:
                break
        banner = "".join(lines)
        url = re.search(r"http://127\.0\.0\.1:\d+/", banner).group(0)
        password = re.search(r"password for all: (\S+)\)", banner).group(1)

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        for _ in range(100):
            try:
                login_page = opener.open(url + "login/").read().decode()
                break
            except OSError:
                time.sleep(0.2)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        data = urllib.parse.urlencode(
            {"username": "admin", "password": password, "csrfmiddlewaretoken": token}
        ).encode()
        request = urllib.request.Request(url + "login/", data=data, headers={"Referer": url})
        page = opener.open(request).read().decode()
        assert "Jambi" in page and "Monev" in page  # the dashboard of the nation, after login
        assert "admin" in page
    finally:
        proc.terminate()
        proc.wait(timeout=10)

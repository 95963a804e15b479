"""The agent's pages as the server renders them, in Bahasa Indonesia (the default language):
values a phone browser accepts, no hidden columns, words instead of codes."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from field_world import DUSUN_BARU

ROOT = Path(__file__).resolve().parents[1]
STYLESHEETS = [
    ROOT / "src" / "pesiar" / "static" / "pesiar" / "pesiar.css",
    ROOT / "src" / "pesiar" / "field" / "static" / "field" / "field.css",
]


@pytest.fixture
def agent(world, client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "id"
    client.force_login(world.users["agent"])
    return client


def test_date_inputs_get_an_iso_value_in_bahasa_indonesia(world, agent):
    today = timezone.localdate().isoformat()
    item = world.item(DUSUN_BARU)
    for url in (reverse("field:visit_add", args=[item.pk]), reverse("field:events")):
        html = agent.get(url).content.decode()
        assert 'lang="id"' in html
        field = re.search(r'<input type="date"[^>]*>', html).group(0)
        assert f'value="{today}"' in field, field


def test_no_stylesheet_hides_a_table_column():
    for path in STYLESHEETS:
        css = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
        for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
            if re.search(r"display\s*:\s*none", body):
                assert not re.search(r"\b(td|th|tr|table)\b", selector), (path, selector)


def test_the_agents_list_shows_words_and_family_status(world, agent):
    html = agent.get(reverse("field:home")).content.decode()
    for code in ("NOT_REGISTERED", "WILL_REGISTER", "PBI_APBD", ">PBPU<", "REGISTERED"):
        assert code not in html, code
    assert "Daftarkan keluarga ini" in html and ">Register<" not in html
    assert "belum dikunjungi" in html


def test_visit_form_has_no_default_outcome_and_errors_beside_fields(world, agent):
    item = world.item(DUSUN_BARU)
    url = reverse("field:visit_add", args=[item.pk])
    html = agent.get(url).content.decode()
    select = re.search(r'<select name="outcome".*?</select>', html, re.S).group(0)
    assert "selected" in select and '<option value="" selected>' in select
    answer = agent.post(url, {"date": timezone.localdate().isoformat(), "outcome": "REFUSED",
                              "client_id": "c-1", "latitude": "-2.1"})  # fmt: skip
    html = answer.content.decode()
    reason = html.index('name="reason"')
    error = html.index('id="id_reason-error"')
    assert reason < error < html.index('name="note"')  # the error sits right below its field
    assert html.index('id="id_longitude-error"') > html.index('name="longitude"')


def test_the_app_its_manifest_and_service_worker_are_served_by_pesiar(world, agent, settings):
    settings.PESIAR = {**settings.PESIAR, "FIELD": {"OFFLINE_DAYS": 3}}
    page = agent.get(reverse("field:app"))
    html = page.content.decode()
    assert page.status_code == 200 and 'rel="manifest"' in html and '"offlineDays": 3' in html
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html
    manifest = agent.get(reverse("field:manifest")).json()
    assert manifest["start_url"] == reverse("field:app") and manifest["display"] == "standalone"
    worker = agent.get(reverse("field:service_worker"))
    assert worker["Content-Type"].startswith("application/javascript")
    assert reverse("field:app") in worker.content.decode()
    answer = agent.post(reverse("logout"))
    assert answer["Clear-Site-Data"] == '"cache", "storage"'
    assert agent.get(reverse("field:app")).status_code == 302  # logged out: to the login page


def test_a_change_against_an_older_family_version_is_flagged_not_lost(world, agent):
    item = world.item(DUSUN_BARU)
    listed = agent.get(f"/api/worklist/{item.pk}").json()
    assert listed["version"] == 1
    day = timezone.localdate().isoformat()

    def visit(client_id: str, outcome: str):
        body = {"client_id": client_id, "item_id": item.pk, "date": day, "outcome": outcome,
                "base_version": 1}  # fmt: skip
        return agent.post("/api/visits", body, content_type="application/json")

    first, late, again = (
        visit("a", "NOT_FOUND"),
        visit("b", "WILL_REGISTER"),
        visit("b", "WILL_REGISTER"),
    )
    assert (first.status_code, first.json()["conflict"]) == (201, False)
    assert (late.status_code, late.json()["conflict"]) == (201, True)
    assert (again.status_code, again.json()["id"]) == (200, late.json()["id"])
    assert agent.get(f"/api/worklist/{item.pk}").json()["version"] == 3
    page = agent.get(reverse("sweep:item", args=[item.pk])).content.decode()
    assert "ditandai" in page

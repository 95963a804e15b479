"""The agent's pages as the server renders them, in Bahasa Indonesia (the default language):
values a phone browser accepts, no hidden columns, words instead of codes."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from field_world import DUSUN_BARU, build_world

ROOT = Path(__file__).resolve().parents[1]
STYLESHEETS = [
    ROOT / "src" / "pesiar" / "static" / "pesiar" / "pesiar.css",
    ROOT / "src" / "pesiar" / "field" / "static" / "field" / "field.css",
]


@pytest.fixture
def world(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return build_world()


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

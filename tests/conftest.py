"""The one test cast: the fixtures every module shares.

- `data_dir`: a data folder of the test's own (settings.DATA_DIR), not created beforehand;
- `english`: messages asserted in English (the site's default language is Bahasa Indonesia);
- `world`: the small field world of tests/field_world.py (three Merangin families, their
  registers, a map, a sweep, and one named user per role in `world.users`);
- `scenario`: the 30,000-resident Jambi scenario (seed 4), generated once per session; read
  its files, copy them before changing any. A module that needs another seed defines its own.

Users who sign in with a password are made with `cast.login` (tests/cast.py).
"""

from pathlib import Path

import pytest


def pytest_configure(config):
    """The test client speaks plain http; without DEBUG the settings redirect to https."""
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Test databases start with Jambi (province 15) loaded; other regions come per test."""
    from pesiar.regions.services import load_regions

    with django_db_blocker.unblock():
        load_regions(within="15")


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


@pytest.fixture
def english(client):
    from django.utils import translation

    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def world(db, data_dir):
    from field_world import build_world

    return build_world()


@pytest.fixture(scope="session")
def scenario(tmp_path_factory):
    from pesiar.demo.generator import generate

    return generate(30_000, 4, tmp_path_factory.mktemp("scenario"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Transactional tests (and the live server) end by emptying every table: once their
    fixtures are torn down, put Jambi back for the tests after them."""
    result = yield
    marker = item.get_closest_marker("django_db")
    if "live_server" in getattr(item, "fixturenames", ()) or (
        marker is not None and marker.kwargs.get("transaction")
    ):
        from pytest_django.plugin import blocking_manager_key

        from pesiar.regions.models import Region
        from pesiar.regions.services import load_regions

        with item.config.stash[blocking_manager_key].unblock():
            if not Region.objects.filter(code="15").exists():
                load_regions(within="15")
    return result

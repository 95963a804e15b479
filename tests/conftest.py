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

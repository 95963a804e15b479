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

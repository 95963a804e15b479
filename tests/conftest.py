import pytest


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Test databases start with Jambi (province 15) loaded; other regions come per test."""
    from pesiar.regions.services import load_regions

    with django_db_blocker.unblock():
        load_regions(within="15")

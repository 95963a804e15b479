"""Setting up the demo: the scenario, the regions, the pipeline steps and the demo accounts."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from pesiar.demo.generator import Scenario, generate
from pesiar.regions.services import LoadReport, load_regions

DEMO_POPULATION = 100_000
DEMO_SEED = 2024
DEMO_PASSWORD = "pesiar-demo"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    description: str
    is_superuser: bool = False


DEMO_ACCOUNTS = (
    DemoAccount("admin", "national administrator", is_superuser=True),
    DemoAccount("merangin", "regency officer, Kabupaten Merangin"),
)


def scenario_dir(population: int, seed: int) -> Path:
    return Path(settings.DATA_DIR) / "demo" / f"jambi-{population}-{seed}"


def ensure_scenario(
    population: int, seed: int, progress: Callable[[str], None] | None = None
) -> tuple[Scenario, bool]:
    """The demo scenario, generated on first use; True when it was generated now."""
    out = scenario_dir(population, seed)
    if (out / "scenario.json").exists():
        return Scenario.load(out), False
    return generate(population, seed, out, progress=progress), True


def ensure_regions() -> LoadReport:
    return load_regions()


def ensure_accounts() -> list[DemoAccount]:
    """Create (or reset) the demo accounts, all with DEMO_PASSWORD."""
    user_model = get_user_model()
    for account in DEMO_ACCOUNTS:
        user, _created = user_model.objects.get_or_create(username=account.username)
        user.is_staff = account.is_superuser
        user.is_superuser = account.is_superuser
        user.set_password(DEMO_PASSWORD)
        user.save()
    return list(DEMO_ACCOUNTS)


# Pipeline steps run on the demo scenario, in order; each takes the scenario and a progress
# callback. Import, linkage and sweep add themselves here as they exist.
PIPELINE: list[Callable[[Scenario, Callable[[str], None]], None]] = []


def run_pipeline(scenario: Scenario, progress: Callable[[str], None]) -> None:
    for step in PIPELINE:
        step(scenario, progress)

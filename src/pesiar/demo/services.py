"""Setting up the demo: the scenarios, the regions, the pipeline steps and the demo accounts.

The demo holds two regions: province Jambi (the main scenario) and Kabupaten OKU Selatan
(Sumatera Selatan), where a campaign runs on the five launch villages. Both have the same
monthly dates, so each month is imported for both and mapped once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings

from pesiar.accounts.services import ensure_user
from pesiar.demo import oku
from pesiar.demo.generator import Scenario, generate
from pesiar.demo.generator.months import ensure_months, previous_dates
from pesiar.demo.generator.oku import OkuScenario, generate_oku
from pesiar.regions.services import LoadReport, load_regions

DEMO_POPULATION = 100_000
DEMO_SEED = 2024
DEMO_PASSWORD = "pesiar-demo"
JAMBI = "15"
DEMO_MONTHS = 3  # monthly snapshots: the scenario's date and the two months before
OKU_POPULATION = 20_000


@dataclass(frozen=True)
class DemoAccount:
    username: str
    description: str
    role: str = "viewer"
    scopes: tuple[str, ...] = ()
    office: str = ""
    full_name: str = ""  # shown where people are named (the agents' table)

    @property
    def is_superuser(self) -> bool:
        return self.role == "admin"


# One account per role (pesiar.accounts.models.Role), scoped inside province Jambi.
DEMO_ACCOUNTS = (
    DemoAccount("admin", "national administrator", role="admin"),
    DemoAccount("jambi", "province officer, Provinsi Jambi", role="province", scopes=("15",)),
    DemoAccount(
        "merangin",
        "regency officer (Dinkes), Kabupaten Merangin",
        role="regency",
        scopes=("15.02",),
        office="dinkes",
    ),
    DemoAccount(
        "bpjs-bangko",
        "BPJS branch officer: Merangin, Sarolangun, Kerinci",
        role="branch",
        scopes=("15.02", "15.03", "15.01"),
    ),
    DemoAccount(
        "agen-dusunbaru",
        "village agent: Dusun Baru and Pasar Rantau Panjang (Merangin)",
        role="agent",
        scopes=("15.02.05.1002", "15.02.05.1003"),
        full_name="Siti Rahmawati",
    ),
    DemoAccount("viewer", "viewer, aggregates only, Provinsi Jambi", scopes=("15",)),
)
# The OKU Selatan campaign's people (made by demo.oku with the campaign).
OKU_ACCOUNTS = (
    DemoAccount(oku.PEMDA_USER, "regency officer (Dinkes), OKU Selatan: recommends agents"),
    DemoAccount(oku.BRANCH_USER, "BPJS branch officer, OKU Selatan: approves and assigns agents"),
    *(
        DemoAccount(username, f"village agent of focus village {i + 1} (OKU Selatan)")
        for i, username in enumerate(oku.AGENT_USERS)
    ),
)


@dataclass
class Demo:
    """What the demo is built from: the Jambi scenario and, unless left out, OKU Selatan's."""

    scenario: Scenario
    oku: OkuScenario | None = None


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


def ensure_oku(scenario: Scenario, population: int, seed: int) -> tuple[OkuScenario, bool]:
    """OKU Selatan's scenario on the Jambi scenario's monthly dates, generated on first use."""
    dates = tuple(map_dates(scenario))
    out = Path(settings.DATA_DIR) / "demo" / f"oku-{population}-{seed}-{dates[-1].isoformat()}"
    if (out / "scenario.json").exists():
        return OkuScenario.load(out), False
    return generate_oku(population, seed, out, dates=dates), True


def ensure_regions() -> LoadReport:
    return load_regions()


def ensure_accounts(demo: Demo | None = None) -> list[DemoAccount]:
    """Create (or reset) the demo accounts with their role and scopes, all with DEMO_PASSWORD;
    with OKU Selatan, its officers' and agents' passwords are reset too."""
    for account in DEMO_ACCOUNTS:
        user = ensure_user(
            account.username,
            role=account.role,
            scopes=account.scopes,
            password=DEMO_PASSWORD,
            office=account.office,
        )
        if account.full_name:
            user.first_name, _, user.last_name = account.full_name.partition(" ")
            user.save(update_fields=["first_name", "last_name"])
    if demo is None or demo.oku is None:
        return list(DEMO_ACCOUNTS)
    oku.set_passwords(DEMO_PASSWORD)
    return [*DEMO_ACCOUNTS, *OKU_ACCOUNTS]


def import_registers(demo: Demo, progress: Callable[[str], None]) -> None:
    """Each register file of the scenarios becomes the snapshot of its date (a file already
    imported is recognised by its checksum and skipped). OKU Selatan's campaign is set up
    before the first date after its start, whose membership import confirms the agents'
    registrations."""
    from pesiar.registers.services import import_register
    from pesiar.registers.snapshots import has_region_column

    scenario = demo.scenario

    def importer(region: str) -> Callable[[str, Path, date], None]:
        def one(kind: str, path: Path, as_of: date) -> None:
            # Each scenario's registers cover its own region: importing one replaces
            # nothing of the other's (a register without villages covers the nation).
            scope = region if has_region_column(kind) else ""
            result = import_register(kind, path, as_of, replace=True, scope=scope)
            report(kind, as_of, result)

        return one

    def report(kind: str, as_of: date, result) -> None:
        if result.duplicate_of:
            progress(f"{kind} {as_of}: already imported (snapshot #{result.duplicate_of})")
        else:
            progress(
                f"{kind} {as_of}: snapshot #{result.snapshot_id}, {result.accepted:,} rows "
                f"accepted, {result.rejected:,} rejected"
            )

    one = importer(JAMBI)
    for month in ensure_months(scenario, DEMO_MONTHS - 1):
        one("population", month.population, month.as_of)
        one("membership", month.membership, month.as_of)
    for kind in scenario.files:
        one(kind, scenario.path(kind), scenario.as_of)
    if demo.oku is not None:
        oku.import_dates(demo.oku, importer(oku.REGENCY), progress)


def map_dates(scenario: Scenario) -> list:
    """The demo's monthly dates, oldest first (the scenario's date last)."""
    return [*previous_dates(scenario.as_of, DEMO_MONTHS - 1), scenario.as_of]


def map_coverage(demo: Demo, progress: Callable[[str], None]) -> None:
    """Link residents to participants and compute the indicators of every monthly date,
    oldest first, so each map's changes are counted against the month before (a date is
    skipped when a finished map of its snapshots exists)."""
    from pesiar.coverage.models import Change
    from pesiar.linkage.models import LinkRun
    from pesiar.linkage.pipeline import run_map, snapshots_for

    for as_of in map_dates(demo.scenario):
        population, membership = snapshots_for(as_of)
        done = LinkRun.objects.filter(
            as_of=as_of,
            population=population,
            membership=membership,
            status=LinkRun.Status.DONE,
        ).first()
        if done is not None:
            progress(f"map {as_of}: already done (#{done.pk})")
            continue
        run = run_map(as_of)
        changes = Change.objects.unscoped(reason="demo progress: a count").filter(run=run)
        progress(
            f"map {as_of} #{run.pk}: {run.counts['exact_links']:,} NIK links, "
            f"{run.counts['probabilistic_links']:,} probabilistic, "
            f"{run.counts['review_pending']:,} to review, {changes.count():,} changes"
        )


def load_boundaries(demo: Demo, progress: Callable[[str], None]) -> None:
    """The shipped outlines of Jambi and Indonesia (once, when none are stored)."""
    from pesiar.monev.boundary_files import ensure_boundaries

    if ensure_boundaries():
        progress("boundaries: the shipped outlines of Jambi and Indonesia loaded")
    else:
        progress("boundaries: already loaded")


def sweep_worklists(demo: Demo, progress: Callable[[str], None]) -> None:
    """Build the family worklists from the map (skipped when that map was swept already)."""
    from pesiar.sweep.models import SweepRun
    from pesiar.sweep.pipeline import map_for, run_sweep

    as_of = demo.scenario.as_of
    done = SweepRun.objects.filter(link_run=map_for(as_of)).first()
    if done is not None:
        progress(f"sweep: already done (#{done.pk})")
        return
    sweep = run_sweep(as_of)
    c = sweep.counts
    progress(
        f"sweep #{sweep.pk}: {c['families']:,} families on the worklists, "
        f"{c['pbi_people']:,} PBI-APBD proposals (Rp {c['pbi_yearly_cost']:,} a year)"
    )


# Pipeline steps run on the demo, in order; each takes the demo and a progress callback.
PIPELINE: list[Callable[[Demo, Callable[[str], None]], None]] = [
    import_registers,
    map_coverage,
    sweep_worklists,
    load_boundaries,
]


def run_pipeline(demo: Demo, progress: Callable[[str], None]) -> None:
    for step in PIPELINE:
        step(demo, progress)

"""`pesiar map` completes on every valid pair of snapshots, whatever their shape (Hypothesis).

Small registers written from scratch (not by the generator): one village of 200 people,
no leftovers or only leftovers for stage 2, every NIK blank, one sex only, every birth date
the same, names all mononyms, a membership file with none of the residents in it. On each,
the run ends DONE, every living resident gets one status, no card is linked twice, and the
run says which training path it took. A run that fails anyway ends FAILED with one line.
"""

import csv
import itertools
import random
from datetime import date, timedelta

import duckdb
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from pesiar.linkage import pipeline
from pesiar.linkage.models import LinkRun
from pesiar.linkage.pipeline import MapFailed, run_map
from pesiar.regions.nik import build
from pesiar.registers.services import import_register

pytestmark = pytest.mark.django_db

VILLAGES = ("15.02.05.1002", "15.71.10.1004", "15.01.01.1004")
GIVEN = ("SUPARMI", "JUNAIDI", "SITI", "AHMAD", "NUR", "RINA", "BUDI", "DEWI", "AGUS", "YANTI")
FAMILY = ("AMINAH", "SAPUTRA", "HASANAH", "RAHMAN", "LESTARI", "SURYADI", "WATI", "HIDAYAT")
AS_OF = itertools.count()
HYPOTHESIS = settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failure is shown unshrunk
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def registers(
    seed: int,
    *,
    people: int = 200,
    villages: int = 1,
    stage2: str = "mixed",  # "none": every card has its NIK; "only": no card has one right
    nik_blank: bool = False,
    one_sex: bool = False,
    same_birth: bool = False,
    mononyms: bool = False,
    strangers: bool = False,  # the membership file holds none of the residents
    registered: float = 0.7,
):
    """Rows of a population and a membership file of that shape."""
    rng = random.Random(seed)
    residents, cards = [], []
    for i in range(people):
        village = VILLAGES[i % villages]
        sex = "P" if one_sex else rng.choice("LP")
        birth = date(1940, 1, 1) + timedelta(rng.randrange(25000))
        birth = date(1980, 1, 1) if same_birth else birth
        serial = 1 + i
        nik = build(village[:8], birth, sex, serial)
        kk = f"{village.replace('.', '')[:6]}0101{1000 + i // 4:06d}"
        name = rng.choice(GIVEN) if mononyms else f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
        residents.append([nik, kk, name, sex, birth.strftime("%d-%m-%Y"), village])
        if strangers or rng.random() >= registered:
            continue
        card_nik = "" if nik_blank else nik
        if stage2 == "only" and not nik_blank:
            card_nik = nik[:-4] + f"{(serial + 5000) % 10000:04d}"  # a wrong serial
        elif stage2 == "mixed" and rng.random() < 0.15:
            card_nik = ""
        cards.append([card_nik, name, sex, birth.strftime("%d/%m/%Y"), kk, village])
    if strangers:
        for i in range(max(people // 2, 1)):
            birth = date(1950, 1, 1) + timedelta(rng.randrange(20000))
            sex = rng.choice("LP")
            nik = build("15.03.01", birth, sex, 1 + i)
            name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
            cards.append([nik, name, sex, birth.strftime("%d/%m/%Y"), "", "15.03.01.1001"])
    return residents, cards


def write(tmp_path, residents, cards):
    population = tmp_path / f"population-{next(AS_OF)}.csv"
    with population.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["NIK", "NO_KK", "NAMA_LGKP", "JENIS_KLMIN", "TGL_LHR", "KODE_DESA"])
        out.writerows(residents)
    membership = tmp_path / f"membership-{next(AS_OF)}.csv"
    with membership.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                *("NOKA", "NIK", "NAMA", "JENIS_KELAMIN", "TGL_LAHIR", "NO_KK", "KODE_DESA"),
                *("SEGMEN", "KELAS", "STATUS_PESERTA"),
            ]
        )
        for i, card in enumerate(cards):
            out.writerow([f"{1_000_000_000 + i * 7:013d}", *card, "PBPU", "3", "AKTIF"])
    return population, membership


def mapped(tmp_path, residents, cards) -> LinkRun:
    as_of = date(2024, 6, 1) + timedelta(days=next(AS_OF))
    population, membership = write(tmp_path, residents, cards)
    import_register("population", population, as_of)
    import_register("membership", membership, as_of)
    run = run_map(as_of)
    assert run.status == LinkRun.Status.DONE, run.message
    assert run.parameters["training"]["path"]
    persons, linked, cards_linked, distinct = duckdb.sql(
        f"""SELECT (SELECT count(*) FROM read_parquet('{run.persons_file}')),
                   (SELECT count(*) FROM read_parquet('{run.persons_file}')
                    WHERE noka IS NOT NULL),
                   (SELECT count(*) FROM read_parquet('{run.links_file}')),
                   (SELECT count(DISTINCT noka) FROM read_parquet('{run.links_file}'))"""
    ).fetchall()[0]
    assert persons == run.counts["population"] == len(residents)
    assert cards_linked == distinct <= len(cards)  # no card twice
    assert linked <= len(cards)
    return run


SHAPES = {
    "one village of 200": {},
    "no leftovers": {"stage2": "none"},
    "only leftovers": {"stage2": "only"},
    "every NIK blank": {"nik_blank": True},
    "one sex only": {"one_sex": True},
    "every birth date the same": {"same_birth": True},
    "names all mononyms": {"mononyms": True},
    "membership without residents": {"strangers": True},
}


@pytest.mark.parametrize("shape", SHAPES)
def test_map_completes_on_every_shape(tmp_path, shape):
    run = mapped(tmp_path, *registers(7, **SHAPES[shape]))
    if shape == "membership without residents":
        assert run.counts["exact_links"] == run.counts["probabilistic_links"] == 0
    if shape == "no leftovers":
        assert run.counts["probabilistic_links"] == 0
        assert run.parameters["training"]["path"] in ("nothing to link", "priors")


@HYPOTHESIS
@given(
    seed=st.integers(0, 10_000),
    people=st.integers(1, 300),
    villages=st.integers(1, 3),
    stage2=st.sampled_from(["none", "only", "mixed"]),
    flags=st.fixed_dictionaries(
        {k: st.booleans() for k in ("nik_blank", "one_sex", "same_birth", "mononyms")}
    ),
    registered=st.floats(0.0, 1.0),
)
def test_map_completes_on_any_mix_of_shapes(
    tmp_path, seed, people, villages, stage2, flags, registered
):
    residents, cards = registers(
        seed, people=people, villages=villages, stage2=stage2, registered=registered, **flags
    )
    assume(cards)  # an empty membership file is refused at import, rightly
    mapped(tmp_path, residents, cards)


def test_only_leftovers_are_linked_by_stage_2(tmp_path):
    run = mapped(tmp_path, *registers(3, people=200, stage2="only"))
    assert run.counts["exact_links"] == 0
    assert run.counts["probabilistic_links"] + run.counts["review_pending"] > 0


def test_a_failing_step_ends_the_run_failed_with_one_line(tmp_path, monkeypatch, capsys):
    residents, cards = registers(5, people=50)
    population, membership = write(tmp_path, residents, cards)
    as_of = date(2030, 1, 1)
    import_register("population", population, as_of)
    import_register("membership", membership, as_of)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full\nwhile writing")

    monkeypatch.setattr(pipeline, "statuses", broken)
    with pytest.raises(MapFailed):
        run_map(as_of)
    run = LinkRun.objects.first()
    assert run.status == LinkRun.Status.FAILED
    assert run.message == "step status: RuntimeError: disk full while writing"
    assert (run.path / "error.txt").read_text().startswith("Traceback")
    with pytest.raises(CommandError) as raised:
        call_command("map", "--as-of", as_of.isoformat())
    assert str(raised.value) == f"map #{run.pk + 1} failed: {run.message}"
    assert "Traceback" not in capsys.readouterr().err


def test_model_is_reused_then_retrained_on_request(tmp_path):
    residents, cards = registers(11, people=300, villages=2, stage2="only")
    first = mapped(tmp_path, residents, cards)
    assert first.parameters["training"]["path"] in ("trained", "partly fixed")
    second = mapped(tmp_path, residents, cards)
    assert second.parameters["training"]["path"] == "reused"
    assert second.parameters["training"]["reference_run"] == first.pk
    assert second.counts["probabilistic_links"] == first.counts["probabilistic_links"]
    retrained = run_map(second.as_of, retrain=True)
    assert retrained.parameters["training"]["path"] in ("trained", "partly fixed")
    assert "retrained on request" in retrained.parameters["training"]["notes"]

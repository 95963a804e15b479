"""`pesiar map` completes on every valid pair of snapshots, whatever their shape (Hypothesis).

Small registers written from scratch (not by the generator): one village of 200 people,
no leftovers or only leftovers for stage 2, every NIK blank, one sex only, every birth date
the same, names all mononyms, a membership file with none of the residents in it. On each,
the run ends DONE, every living resident gets one status, no card is linked twice, and the
run says which training path it took. A run that fails anyway ends FAILED with one line.
"""

import itertools
from datetime import date, timedelta

import duckdb
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from linkage_world import VILLAGES, card_number, registers, write
from pesiar.linkage import pipeline
from pesiar.linkage.models import LinkRun, ReviewItem
from pesiar.linkage.pipeline import MapFailed, run_map
from pesiar.regions.nik import build
from pesiar.registers.services import import_register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

AS_OF = itertools.count()
HYPOTHESIS = settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failure is shown unshrunk
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


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


def test_twins_card_with_the_other_twins_nik_goes_to_its_owner(tmp_path):
    residents, cards = registers(13, people=240, villages=2, registered=0.8)
    # Twins: one KK, one birth date, NIKs one serial apart; A's card carries B's NIK.
    birth = date(1990, 3, 4)
    village = VILLAGES[0]
    kk = f"{village.replace('.', '')[:6]}0101999999"
    nik_a, nik_b = (build(village[:8], birth, "P", serial) for serial in (8001, 8002))
    for nik, name in ((nik_a, "SITI AMINAH"), (nik_b, "SITI RAHMAH")):
        residents.append([nik, kk, name, "P", birth.strftime("%d-%m-%Y"), village])
    cards.append([nik_b, "SITI AMINAH", "P", birth.strftime("%d/%m/%Y"), kk, village])
    cards.append([nik_b, "SITI RAHMAH", "P", birth.strftime("%d/%m/%Y"), kk, village])
    run = mapped(tmp_path, residents, cards)
    links = dict(
        duckdb.sql(
            f"SELECT nik, noka FROM read_parquet('{run.links_file}') WHERE nik IN (?, ?)",
            params=[nik_a, nik_b],
        ).fetchall()
    )
    card_a, card_b = (card_number(i) for i in (len(cards) - 2, len(cards) - 1))
    assert links == {nik_a: card_a, nik_b: card_b}
    assert run.counts["nik_matches_names_clash"] >= 1


def test_heaps_on_one_birth_date_are_counted_and_capped(tmp_path, monkeypatch):
    from pesiar.linkage import blocking

    residents, cards = registers(17, people=300, same_birth=True, stage2="only")
    uncapped = mapped(tmp_path, residents, cards)
    monkeypatch.setattr(blocking, "BLOCK_MAX_PAIRS", 50)
    capped = run_map(uncapped.as_of, retrain=True)
    assert capped.status == LinkRun.Status.DONE
    blocking = capped.parameters["training"]["blocking"]
    assert "birth_date+sex+district" in blocking["skipped_blocks"]
    assert capped.counts["compared_pairs"] < uncapped.counts["compared_pairs"]
    assert sum(blocking["pairs_by_rule"].values()) >= capped.counts["compared_pairs"]


def links_of(run: LinkRun, niks: list[str]) -> dict[str, tuple[str, str]]:
    """Card and method of each of these residents' links."""
    marks = ", ".join("?" * len(niks))
    rows = duckdb.sql(
        f"SELECT nik, noka, method FROM read_parquet('{run.links_file}') WHERE nik IN ({marks})",
        params=niks,
    ).fetchall()
    return {nik: (noka, method) for nik, noka, method in rows}


def test_a_card_with_an_initial_for_a_given_name_and_no_nik_is_linked(tmp_path):
    residents, cards = registers(19, people=240, villages=2, registered=0.8)
    village, birth = VILLAGES[0], date(1985, 6, 12)
    people = {}
    for serial, (name, on_card) in enumerate(
        (("MARTANI PRAKASA", "M. PRAKASA"), ("AMALIA UTAMI", "A. TUAMI")), start=8001
    ):
        sex = "L" if name.startswith("M") else "P"
        nik = build(village[:8], birth, sex, serial)
        kk = f"{village.replace('.', '')[:6]}01019{serial:05d}"
        residents.append([nik, kk, name, sex, birth.strftime("%d-%m-%Y"), village])
        cards.append(["", on_card, sex, birth.strftime("%d/%m/%Y"), kk, village])
        people[nik] = card_number(len(cards) - 1)
    run = mapped(tmp_path, residents, cards)
    assert links_of(run, list(people)) == {
        nik: (card, "PROBABILISTIC") for nik, card in people.items()
    }


def test_a_garbled_name_on_a_card_that_agrees_on_all_else_is_linked_unless_a_twin(tmp_path):
    residents, cards = registers(23, people=240, villages=2, registered=0.8)
    village, birth = VILLAGES[0], date(2019, 3, 28)
    kk_alone, kk_twins = (f"{village.replace('.', '')[:6]}010199{n:04d}" for n in (1, 2))
    qori, zahra, zahwa = (build(village[:8], birth, "P", s) for s in (8001, 8002, 8003))
    residents += [
        [qori, kk_alone, "QORI", "P", birth.strftime("%d-%m-%Y"), village],
        [zahra, kk_twins, "ZAHRA", "P", birth.strftime("%d-%m-%Y"), village],
        [zahwa, kk_twins, "ZAHWA", "P", birth.strftime("%d-%m-%Y"), village],
    ]
    # The NIK, birth date and KK agree, and the name is typed beyond recognition.
    cards += [
        [qori, "ORQI", "P", birth.strftime("%d/%m/%Y"), kk_alone, village],
        [zahra, "HZRA", "P", birth.strftime("%d/%m/%Y"), kk_twins, village],
    ]
    run = mapped(tmp_path, residents, cards)
    # QORI has no twin: the card is hers. ZAHRA has one, so her card waits for review.
    assert links_of(run, [qori, zahra, zahwa]) == {
        qori: (card_number(len(cards) - 2), "PROBABILISTIC")
    }
    assert run.counts["review_pairs"] >= 1


def test_a_mistyped_nik_that_hits_another_person_follows_the_family_card(tmp_path):
    residents, cards = registers(29, people=240, villages=2, registered=0.8)
    village, birth = VILLAGES[0], date(2005, 6, 16)
    padma, sari = (build(village[:8], birth, "P", s) for s in (8001, 8002))
    kk_padma, kk_sari = (f"{village.replace('.', '')[:6]}010198{n:04d}" for n in (1, 2))
    residents += [
        [padma, kk_padma, "PADMA", "P", birth.strftime("%d-%m-%Y"), village],
        [sari, kk_sari, "SITI WIRDA PADMASARI", "P", birth.strftime("%d-%m-%Y"), village],
    ]
    # PADMA's card, on her own family card, carries SARI's NIK (one digit off); the names
    # agree well enough (PADMA, PADMASARI) for the NIK join alone to take it.
    cards.append([sari, "PADMA", "P", birth.strftime("%d/%m/%Y"), kk_padma, village])
    run = mapped(tmp_path, residents, cards)
    assert links_of(run, [padma, sari]) == {padma: (card_number(len(cards) - 1), "PROBABILISTIC")}


def test_a_card_with_several_faults_is_met_by_birth_date_sex_and_district(tmp_path):
    # Real cards can carry more than one fault at once; the generator gives each one fault.
    # With no NIK and no KK on the card and the first given name dropped, only the rule on
    # birth date + sex + district brings the card and its resident together. The evidence
    # left (a dropped word, the birth date, the village) may link them, or ask an officer.
    residents, cards = registers(31, people=240, villages=2, registered=0.8)
    birth, village = date(1991, 8, 23), VILLAGES[0]
    nik = build(village[:8], birth, "P", 8001)
    kk = f"{village.replace('.', '')[:6]}0101970001"
    residents.append([nik, kk, "SITI NURHALIZA RAHMAN", "P", birth.strftime("%d-%m-%Y"), village])
    cards.append(["", "NURHALIZA RAHMAN", "P", birth.strftime("%d/%m/%Y"), "", village])
    run = mapped(tmp_path, residents, cards)
    linked = [noka for noka, _method in links_of(run, [nik]).values()]
    items = ReviewItem.objects.unscoped(reason="test").filter(run=run, resident_nik=nik)
    assert linked + list(items.values_list("noka", flat=True)) == [card_number(len(cards) - 1)]

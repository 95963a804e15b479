"""The campaign's effect and the agents' statement on the OKU Selatan scenario, end to end:
generated registers -> import -> map -> estimate, checked against the generator's truth."""

import csv
from collections import Counter
from datetime import date

import pytest
from django.test import override_settings

from pesiar.accounts.models import User
from pesiar.campaigns import agents, effect
from pesiar.campaigns.models import AgentAssignment, Campaign, FocusVillage
from pesiar.coverage.models import Indicator
from pesiar.demo import oku
from pesiar.demo.generator.oku import FOCUS_VILLAGES, REGENCY, generate_oku
from pesiar.field.models import RegistrationPerson, RegistrationRequest
from pesiar.linkage.models import LinkRun, ReviewItem
from pesiar.registers.models import Finding, ImportJob, Snapshot

pytestmark = pytest.mark.slow
EFFECT_DATES = (date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1))
NO_EFFECT_DATES = (date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1))


def clear() -> None:
    RegistrationPerson.objects.unscoped(reason="test").delete()
    RegistrationRequest.objects.unscoped(reason="test").delete()
    AgentAssignment.objects.unscoped(reason="test").delete()
    FocusVillage.objects.unscoped(reason="test").delete()
    Campaign.objects.unscoped(reason="test").delete()
    Indicator.objects.unscoped(reason="test").delete()
    ReviewItem.objects.unscoped(reason="test").delete()
    LinkRun.objects.all().delete()
    Finding.objects.unscoped(reason="test").delete()
    ImportJob.objects.all().delete()
    Snapshot.objects.all().delete()
    User.objects.filter(username__startswith="agen-").delete()
    User.objects.filter(username__in=[oku.PEMDA_USER, oku.BRANCH_USER]).delete()


@pytest.fixture(scope="module")
def oku_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Both scenarios imported and mapped: with the campaign's effect, and with none."""
    with (
        override_settings(DATA_DIR=tmp_path_factory.mktemp("oku-data")),
        django_db_blocker.unblock(),
    ):
        clear()
        with_effect = generate_oku(20_000, 7, tmp_path_factory.mktemp("oku"), dates=EFFECT_DATES)
        campaign = oku.load(with_effect)
        none = generate_oku(
            20_000, 8, tmp_path_factory.mktemp("oku-none"), dates=NO_EFFECT_DATES, agent_rate=0
        )
        oku.load(none, with_campaign=False)
        yield {"scenario": with_effect, "campaign": campaign, "none": none}
        clear()


def truth_effect(scenario) -> float:
    with scenario.truth_path("effect").open() as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["code"] for r in rows) == sorted(FOCUS_VILLAGES)
    return sum(float(r["effect_points"]) for r in rows) / len(rows)


def test_the_estimate_is_within_its_interval_of_the_injected_effect(oku_world, db):
    truth = truth_effect(oku_world["scenario"])
    assert truth > 3  # the scenario injects a clear effect
    est = effect.for_campaign(oku_world["campaign"], as_of=EFFECT_DATES[-1])
    assert est.baseline == EFFECT_DATES[1] and est.after == EFFECT_DATES[2]
    assert len(est.villages) == 5 and est.candidates > 200
    assert est.low <= truth <= est.high, (est.effect_points, est.low, est.high, truth)
    assert est.significant and not est.warnings
    assert est.pre_trend is not None and abs(est.pre_trend) < est.high - est.low  # no pre-trend
    people_truth = sum(
        int(r["effect_registered"])
        for r in csv.DictReader(oku_world["scenario"].truth_path("effect").open())
    )
    assert (
        abs(est.people - people_truth)
        <= (est.high - est.low) / 2 * sum(v.population for v in est.villages) / 100
    )


def test_with_no_campaign_effect_the_interval_contains_zero(oku_world, db):
    assert truth_effect(oku_world["none"]) == 0
    est = effect.estimate(
        REGENCY, NO_EFFECT_DATES[1], list(FOCUS_VILLAGES), as_of=NO_EFFECT_DATES[-1]
    )
    assert est.baseline == NO_EFFECT_DATES[1] and est.after == NO_EFFECT_DATES[2]
    assert est.low <= 0 <= est.high, (est.effect_points, est.low, est.high)
    assert not est.significant


def test_matches_come_from_the_same_regency_and_not_the_campaign(oku_world, db):
    est = effect.for_campaign(oku_world["campaign"], as_of=EFFECT_DATES[-1])
    for v in est.villages:
        assert len(v.matches) == effect.MATCHES
        assert all(m.startswith(REGENCY + ".") and m not in FOCUS_VILLAGES for m in v.matches)
        assert v.effect == pytest.approx(v.change - v.expected_change)


def test_an_estimate_before_any_figures_after_the_start_says_so(oku_world, db):
    est = effect.estimate(REGENCY, EFFECT_DATES[-1], list(FOCUS_VILLAGES), as_of=EFFECT_DATES[-1])
    assert not est.available and est.warnings


def test_monthly_statement_confirmed_outcomes_equal_the_truth(oku_world, db):
    scenario = oku_world["scenario"]
    with scenario.truth_path("agent_registrations").open() as f:
        truth = list(csv.DictReader(f))
    assert truth and any(r["confirmed"] == "false" for r in truth)
    expected_requests = Counter((r["agent"], r["month"]) for r in truth if r["confirmed"] == "true")
    expected_people = Counter()
    for r in truth:
        if r["confirmed"] == "true":
            expected_people[(r["agent"], r["month"])] += int(r["people"])
    submitted = Counter((r["agent"], r["month"]) for r in truth)
    branch = User.objects.get(username=oku.BRANCH_USER)
    for (username, month), n in submitted.items():
        agent = User.objects.get(username=username)
        st = agents.statement(branch, agent, month)
        assert st.snapshot is not None and st.snapshot.as_of == date(2024, 6, 1)
        assert st.submitted == n
        assert st.confirmed == expected_requests[(username, month)]
        assert st.confirmed_people == expected_people[(username, month)]


def test_monthly_figures_and_the_statement_page(oku_world, db):
    from django.test import Client

    scenario = oku_world["scenario"]
    with scenario.truth_path("agent_registrations").open() as f:
        truth = list(csv.DictReader(f))
    branch = User.objects.get(username=oku.BRANCH_USER)
    rows = {r["agent"]: r for r in agents.monthly_figures(branch, REGENCY, "2024-05")}
    for username in {r["agent"] for r in truth}:
        mine = [r for r in truth if r["agent"] == username]
        assert rows[username]["registrations_submitted"] == len(mine)
        assert rows[username]["confirmed"] == sum(r["confirmed"] == "true" for r in mine)
    sample = truth[0]
    pemda = User.objects.get(username=oku.PEMDA_USER)
    for user, shown in ((branch, sample["kk"]), (pemda, sample["kk"][:4] + "********")):
        client = Client(HTTP_ACCEPT_LANGUAGE="id")
        client.force_login(user)
        html = client.get(f"/campaigns/agents/{sample['agent']}/2024-05/").content.decode()
        assert "Rekap bulanan" in html and "Dikonfirmasi oleh data kepesertaan" in html
        assert shown in html
    assert sample["kk"] not in html  # the Pemda sees the KK masked

"""Field rules: visits and the family's state, events, registrations validated against the
population snapshot, batch export, reconciliation, agent KPIs, pages and their scope."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from field_world import (
    DUSUN_BARU,
    OUTSIDE,
    PASAR,
    family,
    membership_snapshot,
)
from pesiar.accounts.models import AccessLog
from pesiar.field import services
from pesiar.field.models import (
    ApiToken,
    Event,
    PersonStatus,
    RegistrationRequest,
    RequestStatus,
    Visit,
    hash_token,
)
from pesiar.field.reconcile import reconcile
from pesiar.field.services import EventInput, FieldError, RegistrationInput, VisitInput

KK_A, KK_B, KK_C = "1502050101200001", "1502050101200002", "1502050101200003"
TODAY = date(2024, 7, 1)


# Messages are asserted in English (the site speaks Bahasa Indonesia by default).
pytestmark = pytest.mark.usefixtures("english")


def visit(world, user="agent", village=DUSUN_BARU, **kw):
    data = {"date": TODAY, "outcome": "WILL_REGISTER", **kw}
    return services.record_visit(
        world.users[user], VisitInput(item_id=world.item(village).pk, **data)
    )


# --- visits -----------------------------------------------------------------------------------


def test_the_family_state_follows_the_latest_visit(world):
    item = world.item(DUSUN_BARU)
    visit(world, outcome="NOT_FOUND", date=TODAY - timedelta(days=3))
    visit(world, outcome="REGISTERED", date=TODAY)
    item.refresh_from_db()
    assert (item.outcome, item.state, item.last_visit_at) == ("REGISTERED", "CLOSED", TODAY)
    # a visit recorded later but dated earlier does not override the latest
    visit(world, outcome="REFUSED", reason="sudah punya asuransi", date=TODAY - timedelta(days=1))
    item.refresh_from_db()
    assert (item.outcome, item.state) == ("REGISTERED", "CLOSED")
    # a newer visit reopens a family closed by a visit
    visit(world, outcome="NEEDS_NIK", date=TODAY + timedelta(days=1))
    item.refresh_from_db()
    assert (item.outcome, item.state, item.closed_reason) == ("NEEDS_NIK", "OPEN", "")
    assert Visit.objects.for_user(world.users["agent"]).filter(item=item).count() == 4


def test_a_visit_is_recorded_once_per_client_id(world):
    first, created = visit(world, client_id="abc-1")
    again, created_again = visit(world, client_id="abc-1", outcome="REFUSED", reason="x")
    assert (created, created_again, again.pk) == (True, False, first.pk)
    with pytest.raises(FieldError) as exc:
        visit(world, user="agent2", village=OUTSIDE, client_id="abc-1")
    assert exc.value.status == 409


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"outcome": "REFUSED"}, "a refusal needs the reason"),
        ({"outcome": "GONE"}, "outcome 'GONE' is not one of"),
        ({"date": date(2099, 1, 1)}, "is in the future"),
        ({"latitude": 1.5}, "give both latitude and longitude"),
        ({"latitude": 95, "longitude": 100}, "latitude must lie between"),
    ],
)
def test_visit_problems_are_named(world, changes, message):
    with pytest.raises(FieldError, match=message):
        visit(world, **changes)
    assert not Visit.objects.unscoped(reason="test").exists()


def test_agents_visit_only_families_of_their_villages(world):
    with pytest.raises(FieldError) as exc:
        visit(world, village=OUTSIDE)
    assert exc.value.status == 404
    with pytest.raises(PermissionDenied):
        visit(world, user="viewer")


# --- events -----------------------------------------------------------------------------------


def test_events_are_recorded_in_the_agents_villages_once(world):
    agent = world.users["agent"]
    data = EventInput(village=DUSUN_BARU, date=TODAY, kind="POSYANDU", attendees=25, client_id="e")
    event, created = services.record_event(agent, data)
    assert created and services.record_event(agent, data) == (event, False)
    with pytest.raises(FieldError, match=f"village {OUTSIDE} is not a village in your scope"):
        services.record_event(
            agent, EventInput(village=OUTSIDE, date=TODAY, kind="OTHER", attendees=1)
        )
    with pytest.raises(FieldError, match="kind 'PARTY' is not one of"):
        services.record_event(
            agent, EventInput(village=PASAR, date=TODAY, kind="PARTY", attendees=1)
        )
    assert Event.objects.for_user(agent).count() == 1


# --- registrations ----------------------------------------------------------------------------


def registration(world, user="agent", kk=KK_A, niks=None, **kw):
    niks = niks if niks is not None else [m["nik"] for m in family(kk) if m["status"] != "ACTIVE"]
    data = {"segment": "PBPU", "faskes_code": "10020101", **kw}
    return services.register_family(world.users[user], RegistrationInput(kk=kk, niks=niks, **data))


def test_a_pbpu_registration_needs_the_whole_family_card(world):
    niks = [m["nik"] for m in family(KK_A)]
    with pytest.raises(FieldError) as exc:
        registration(world, niks=niks[:2])
    assert exc.value.problems == [f"PBPU registers the whole family card: add ANDI (NIK {niks[2]})"]
    request, created = registration(world, niks=niks, client_id="r1")
    assert created and request.status == RequestStatus.SUBMITTED
    assert request.village_id == DUSUN_BARU and request.item == world.item(DUSUN_BARU)
    assert registration(world, niks=niks, client_id="r1") == (request, False)
    assert RegistrationRequest.objects.for_user(world.users["agent"]).count() == 1


def test_registration_problems_name_the_nik_and_what_to_do(world):
    with pytest.raises(FieldError) as exc:
        registration(world, niks=["1502050000000000", family(KK_A)[0]["nik"]], faskes_code="")
    text = " | ".join(exc.value.problems)
    assert "NIK 1502050000000000 is not a living member of family card 1502050101200001" in text
    assert "choose the faskes" in text
    assert "PBPU registers the whole family card" in text
    # the head of KK_B is already active
    with pytest.raises(FieldError, match=r"RUDI HARTONO \(NIK 1502050303700004\) is already a JKN"):
        registration(world, kk=KK_B, niks=["1502050303700004", "1502054404720005"])
    # a family of another village is not found for this agent
    with pytest.raises(FieldError) as exc:
        registration(world, kk=KK_C)
    assert exc.value.status == 404
    assert not RegistrationRequest.objects.unscoped(reason="test").exists()


def test_a_draft_is_submitted_after_the_full_check(world):
    niks = [m["nik"] for m in family(KK_A)]
    draft, _ = registration(world, niks=niks[:1], submit=False, faskes_code="")
    assert draft.status == RequestStatus.DRAFT
    with pytest.raises(FieldError, match="whole family card"):
        services.submit_registration(world.users["agent"], draft.pk)
    ok, _ = registration(world, kk=KK_B, niks=["1502054404720005"], segment="PBI_APBD",
                         submit=False)  # fmt: skip
    assert services.submit_registration(world.users["agent"], ok.pk).status == "SUBMITTED"


# --- batch export and reconciliation ----------------------------------------------------------


def exported(world):
    request, _ = registration(world)
    batch = services.export_batch(world.users["branch"], "15.02")
    request.refresh_from_db()
    return request, batch


def test_officers_export_submitted_requests_as_xlsx_and_csv(world):
    request, batch = exported(world)
    assert request.status == RequestStatus.EXPORTED and request.batch == batch
    path, rows = services.batch_file(world.users["branch"], batch.pk, "csv")
    text = path.read_text()
    assert rows == 3 and all(m["nik"] in text for m in family(KK_A))
    assert services.batch_file(world.users["branch"], batch.pk, "xlsx")[0].exists()
    assert services.export_batch(world.users["branch"], "15.02") is None  # nothing left
    with pytest.raises(FieldError):
        services.export_batch(world.users["agent"], DUSUN_BARU)
    with pytest.raises(FieldError):
        services.export_batch(world.users["dinkes"], "15.02")  # masked NIKs are no use to BPJS
    for other in ("kerinci", "dinkes", "agent"):
        with pytest.raises(FieldError):
            services.batch_file(world.users[other], batch.pk, "csv")
    assert AccessLog.objects.filter(user=world.users["branch"], kind="export", rows=3).exists()


def test_reconciliation_confirms_activates_and_gives_up_after_the_weeks(world, settings):
    request, _ = exported(world)
    nik = [m["nik"] for m in family(KK_A)]
    later = timezone.localdate(request.exported_at) + timedelta(days=7)
    # two of three are registered, one of them active: not yet confirmed
    rows = [
        ("1000000000001", nik[0], "B", "ACTIVE", DUSUN_BARU),
        ("1000000000002", nik[1], "S", "INACTIVE", DUSUN_BARU),
    ]
    snap = membership_snapshot(later, rows)
    assert reconcile(snap)["people_found"] == 2
    request.refresh_from_db()
    assert request.status == RequestStatus.EXPORTED
    # after the configured weeks without the third: unconfirmed
    settings.PESIAR = {**settings.PESIAR, "FIELD": {"UNCONFIRMED_WEEKS": 2}}
    snap2 = membership_snapshot(later + timedelta(weeks=3), [])
    assert reconcile(snap2)["unconfirmed"] == 1
    request.refresh_from_db()
    assert request.status == RequestStatus.UNCONFIRMED
    # a later snapshot with all three, all active: activated after all
    snap3 = membership_snapshot(
        later + timedelta(weeks=4),
        [(f"100000000000{i}", n, "X", "ACTIVE", DUSUN_BARU) for i, n in enumerate(nik)],
    )
    assert reconcile(snap3)["activated"] == 1
    request.refresh_from_db()
    assert (request.status, request.confirmed_by) == (RequestStatus.ACTIVATED, snap3)
    people = list(request.people.unscoped(reason="test"))
    assert {p.status for p in people} == {PersonStatus.ACTIVE}
    assert all(p.noka for p in people)


def test_a_snapshot_dated_before_the_export_confirms_nothing(world):
    request, _ = exported(world)
    old = timezone.localdate(request.exported_at) - timedelta(days=1)
    nik = [m["nik"] for m in family(KK_A)]
    snap = membership_snapshot(
        old, [(f"20000000000{i}", n, "X", "ACTIVE", "") for i, n in enumerate(nik)]
    )
    assert reconcile(snap)["requests"] == 0


# --- KPIs -------------------------------------------------------------------------------------


def test_agent_kpis_count_per_agent_inside_the_scope(world):
    visit(world, client_id="v1")
    visit(world, client_id="v2", outcome="REGISTERED")
    visit(world, village=PASAR, client_id="v3")
    services.record_event(world.users["agent"], EventInput(DUSUN_BARU, TODAY, "SCHOOL", 40))
    services.record_event(world.users["agent"], EventInput(PASAR, TODAY, "WORSHIP", 12))
    exported(world)
    snap = membership_snapshot(
        timezone.localdate() + timedelta(days=1),
        [
            (f"30000000000{i}", m["nik"], "X", "ACTIVE", DUSUN_BARU)
            for i, m in enumerate(family(KK_A))
        ],
    )
    reconcile(snap)
    start, end = TODAY - timedelta(days=30), timezone.localdate() + timedelta(days=1)
    rows = services.agent_kpis(world.users["dinkes"], "15.02", start, end)
    assert [r["agent"] for r in rows] == ["f-agent", "f-agent2"]
    assert rows[0] == {
        "agent": "f-agent", "name": "f-agent", "villages": [DUSUN_BARU, PASAR],
        "families_visited": 2, "registrations_submitted": 1, "confirmed": 1, "activated": 3,
        "events": 2, "attendance": 52,
    }  # fmt: skip
    assert services.agent_kpis(world.users["kerinci"], "15", start, end) == []
    assert [r["agent"] for r in services.agent_kpis(world.users["agent"], "15", start, end)] == [
        "f-agent"
    ]
    only_village = services.agent_kpis(world.users["dinkes"], PASAR, start, end)
    assert only_village[0]["villages"] == [PASAR] and only_village[0]["families_visited"] == 1


# --- pages ------------------------------------------------------------------------------------


def test_agent_pages_record_visits_events_and_registrations(world, client):
    client.force_login(world.users["agent"])
    home = client.get(reverse("field:home")).content.decode()
    assert "BUDI SANTOSO" in home and "RUDI HARTONO" in home and "AHMAD" not in home
    assert home.index("BUDI SANTOSO") < home.index("RUDI HARTONO")  # by priority
    item = world.item(DUSUN_BARU)
    assert client.get(reverse("field:visit_add", args=[item.pk])).status_code == 200
    response = client.post(
        reverse("field:visit_add", args=[item.pk]),
        {"date": "2024-07-01", "outcome": "REFUSED", "reason": "", "client_id": "w1"},
    )
    assert "a refusal needs the reason" in response.content.decode()
    response = client.post(
        reverse("field:events"),
        {"village": DUSUN_BARU, "date": "2024-07-01", "kind": "VILLAGE_MEETING",
         "attendees": 30, "client_id": "ev1"},
    )  # fmt: skip
    assert response.status_code == 302
    assert "30" in client.get(reverse("field:events")).content.decode()
    outside = world.item(OUTSIDE)
    assert client.get(reverse("field:visit_add", args=[outside.pk])).status_code == 404
    assert client.get(reverse("field:register_family", args=[outside.pk])).status_code == 404


def test_officers_see_nik_masked_unless_their_role_sees_it(world, client):
    request, _ = registration(world)
    nik = family(KK_A)[0]["nik"]
    client.force_login(world.users["dinkes"])
    page = client.get(reverse("field:registration", args=[request.pk])).content.decode()
    assert nik not in page and nik[:4] + "*" * 12 in page
    client.force_login(world.users["branch"])
    assert nik in client.get(reverse("field:registration", args=[request.pk])).content.decode()
    assert AccessLog.objects.filter(user=world.users["branch"], rows=3).exists()
    client.force_login(world.users["viewer"])
    assert client.get(reverse("field:registrations")).status_code == 403
    client.force_login(world.users["kerinci"])
    assert client.get(reverse("field:registration", args=[request.pk])).status_code == 404


def test_api_tokens_from_the_command_and_the_web_page(world, client, capsys):
    call_command("api-token", "f-agent", "--name", "hp")
    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(key_hash=hash_token(key))
    assert token.user == world.users["agent"] and key not in str(token.__dict__)
    client.force_login(world.users["agent"])
    page = client.post(reverse("field:tokens"), {"name": "tablet"}).content.decode()
    assert 'id="new-token">psr_' in page
    client.post(reverse("field:tokens"), {"action": "revoke", "token": token.pk})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_family_page_shows_visits_and_the_field_actions(world, client):
    item = world.item(DUSUN_BARU)
    visit(world, outcome="REFUSED", reason="belum ada uang")
    client.force_login(world.users["agent"])
    page = client.get(reverse("sweep:item", args=[item.pk])).content.decode()
    assert reverse("field:visit_add", args=[item.pk]) in page
    assert reverse("field:register_family", args=[item.pk]) in page
    assert "belum ada uang" in page

"""Accounts, roles and region scope: no one sees a village they are not responsible for.

The region-keyed rows come from two small test-only models (`Household`: personal, keyed by a
foreign key to Region; `Indicator`: aggregate, keyed by a code column). Their tables are made
for this module only; their app is not installed, so migrations and checks never see them.
"""

import os
import re
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import duckdb
import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

from pesiar.accounts import checks
from pesiar.accounts.audit import log_access
from pesiar.accounts.models import AccessKind, AccessLog, AppendOnlyError, Role, Scope, User
from pesiar.accounts.policy import can_see_full_identifiers, can_see_personal
from pesiar.accounts.scoping import (
    ScopedManager,
    UnscopedQueryError,
    get_scope,
    scope_sql,
    visible_regions,
)
from pesiar.accounts.services import create_user
from pesiar.accounts.viewer import Viewer, mask_identifier, viewer_for
from pesiar.demo import services as demo
from pesiar.monev.scope import peer_codes
from pesiar.regions.models import Region, is_within
from pesiar.regions.services import load_regions

# --- test-only region-keyed models ------------------------------------------------------------


class Household(models.Model):
    village = models.ForeignKey(
        Region, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    kk = models.CharField(max_length=16)
    head_nik = models.CharField(max_length=16)
    head_name = models.CharField(max_length=100)

    objects = ScopedManager("village", personal=True, identifiers=("kk", "head_nik"))

    class Meta:
        app_label = "scopetest"

    def __str__(self) -> str:
        return self.head_name


class Indicator(models.Model):
    village_code = models.CharField(max_length=13)
    residents = models.IntegerField()

    objects = ScopedManager("village_code")

    class Meta:
        app_label = "scopetest"

    def __str__(self) -> str:
        return self.village_code


# Villages with rows, one per line of responsibility the roles below cut through.
VILLAGES = {
    "15.02.05.1002": "Dusun Baru",  # the agent's village (Merangin)
    "15.02.05.1003": "Pasar Rantau Panjang",  # the agent's second village
    "15.02.05.2008": "Koto Rayo",  # same district, not the agent's
    "15.02.01.2001": None,  # Merangin, another district
    "15.01.01.2001": None,  # Kerinci (branch Bangko)
    "15.03.01.2001": None,  # Sarolangun (branch Bangko)
    "15.04.01.2001": None,  # Batanghari (no one's but the province's)
    "15.71.01.1001": None,  # Kota Jambi
    "16.09.01.2001": None,  # Ogan Komering Ulu Selatan, another province
}


@dataclass(frozen=True)
class Profile:
    role: str
    scopes: tuple[str, ...]
    office: str = ""
    # Regions outside the scope, used as URL parameters by the route walk.
    outside: tuple[str, ...] = ()


PROFILES = {
    "admin": Profile("admin", ()),
    "province": Profile("province", ("15",), outside=("16.09", "16")),
    "regency": Profile("regency", ("15.02",), "dinkes", outside=("15.71", "15.01")),
    "dukcapil": Profile("regency", ("15.02",), "dukcapil", outside=("15.71",)),
    "branch": Profile("branch", ("15.02", "15.03", "15.01"), outside=("15.71", "15.04")),
    "agent": Profile(
        "agent", ("15.02.05.1002", "15.02.05.1003"), outside=("15.02.05.2008", "15.02.01")
    ),
    "viewer": Profile("viewer", ("15.02",), outside=("15.71", "16.09")),
}
SCOPED = [name for name in PROFILES if name != "admin"]


def make_user(name: str) -> User:
    profile = PROFILES[name]
    user = User(username=f"u-{name}", role=profile.role, office=profile.office)
    user.set_unusable_password()
    user.save()
    for code in profile.scopes:
        Scope.objects.create(user=user, region_id=code)
    return user


def nik_for(code: str, serial: int) -> str:
    return code.replace(".", "")[:6] + "0101900" + f"{serial:03d}"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Tables of the test models, and a second province's regency (16.09) for this module."""
    with django_db_blocker.unblock():
        load_regions(within="16.09")
        with connection.schema_editor() as editor:
            editor.create_model(Household)
            editor.create_model(Indicator)
    yield
    with django_db_blocker.unblock():
        with connection.schema_editor() as editor:
            editor.delete_model(Household)
            editor.delete_model(Indicator)
        for level in (4, 3, 2, 1):
            Region.objects.filter(level=level, code__startswith="16").delete()


@pytest.fixture
def rows(db, world) -> None:
    for i, code in enumerate(VILLAGES):
        for j in range(2):
            Household.objects.create(
                village_id=code,
                kk=nik_for(code, 100 + j),
                head_nik=nik_for(code, j),
                head_name=f"Kepala {i}-{j}",
            )
        Indicator.objects.create(village_code=code, residents=100 + i)


@pytest.fixture
def users(db) -> dict[str, User]:
    return {name: make_user(name) for name in PROFILES}


# --- the ORM service layer --------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PROFILES))
def test_no_role_reads_rows_outside_its_scope_through_the_orm(rows, users, name):
    user = users[name]
    scope = get_scope(user)
    expected = {c for c in VILLAGES if scope.national or any(is_within(c, s) for s in scope.codes)}
    indicators = Indicator.objects.for_user(user)
    assert {i.village_code for i in indicators} == expected
    assert indicators.count() == len(expected)
    assert indicators.aggregate(n=Sum("residents"))["n"] == sum(
        100 + i for i, c in enumerate(VILLAGES) if c in expected
    )
    outside = Indicator.objects.for_user(user).exclude(village_code__in=expected)
    assert not outside.exists()
    for code in set(VILLAGES) - expected:
        other = Indicator.objects.unscoped(reason="test: find the row to ask for").get(
            village_code=code
        )
        with pytest.raises(Indicator.DoesNotExist):
            Indicator.objects.for_user(user).get(pk=other.pk)
    if can_see_personal(user):
        households = Household.objects.for_user(user)
        assert {h.village_id for h in households} == expected
        assert len(households) == 2 * len(expected)
        by_village = households.values("village").annotate(n=Count("id"))
        assert {r["village"] for r in by_village} == expected
    else:
        with pytest.raises(PermissionDenied):
            Household.objects.for_user(user)


def test_scopes_are_whole_code_parts_not_string_prefixes(db, world, users):
    Indicator.objects.create(village_code="15.020", residents=1)  # not inside 15.02
    Indicator.objects.create(village_code="15.02", residents=2)
    Indicator.objects.create(village_code="15.02.05", residents=3)
    got = set(Indicator.objects.for_user(users["regency"]).values_list("village_code", flat=True))
    assert got == {"15.02", "15.02.05"}


UNSCOPED_USES: dict[str, Callable[[], object]] = {
    "list": lambda: list(Indicator.objects.all()),
    "iterate": lambda: [i for i in Indicator.objects.filter(residents__gt=0)],
    "len": lambda: len(Indicator.objects.all()),
    "bool": lambda: bool(Indicator.objects.all()),
    "get": lambda: Indicator.objects.get(pk=1),
    "first": lambda: Indicator.objects.first(),
    "count": lambda: Indicator.objects.count(),
    "exists": lambda: Indicator.objects.exists(),
    "aggregate": lambda: Indicator.objects.aggregate(Sum("residents")),
    "values": lambda: list(Indicator.objects.values("village_code")),
    "iterator": lambda: list(Indicator.objects.iterator()),
    "in_bulk": lambda: Indicator.objects.in_bulk([1]),
    "update": lambda: Indicator.objects.update(residents=0),
    "delete": lambda: Indicator.objects.all().delete(),
    "get_or_create": lambda: Indicator.objects.get_or_create(village_code="15", residents=1),
    "subquery": lambda: list(
        Region.objects.filter(code__in=Indicator.objects.values("village_code"))
    ),
    "union": lambda: list(Household.objects.none().union(Household.objects.all())),
    "raw": lambda: list(Indicator.objects.raw("SELECT * FROM scopetest_indicator")),
    "related_to_a_personal_model": lambda: list(Household.objects.filter(kk__startswith="15")),
}


@pytest.mark.parametrize("use", list(UNSCOPED_USES))
def test_an_unscoped_queryset_refuses_to_run(rows, use):
    with pytest.raises(UnscopedQueryError, match=r"\.unscoped\(reason="):
        UNSCOPED_USES[use]()


def test_union_of_scoped_and_unscoped_is_refused(rows, users):
    scoped = Indicator.objects.for_user(users["agent"])
    with pytest.raises(UnscopedQueryError):
        list(scoped.union(Indicator.objects.all()))
    assert len(scoped.union(Indicator.objects.for_user(users["agent"]))) == 2


def test_unscoped_needs_a_reason_and_then_sees_everything(rows):
    with pytest.raises(ValueError, match="reason"):
        Indicator.objects.unscoped(reason=" ")
    assert Indicator.objects.unscoped(reason="indicator pipeline").count() == len(VILLAGES)
    assert "not narrowed" in repr(Indicator.objects.all())


def test_scoping_needs_a_logged_in_user(rows):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(TypeError):
        Indicator.objects.for_user(None)
    with pytest.raises(PermissionDenied):
        Indicator.objects.for_user(AnonymousUser())


def test_inactive_users_and_users_without_scopes_see_nothing(rows, users):
    lost = User.objects.create(username="u-no-scope", role=Role.REGENCY)
    assert Indicator.objects.for_user(lost).count() == 0
    assert scope_sql(lost, "village_code") == ("FALSE", [])
    users["province"].is_active = False
    with pytest.raises(PermissionDenied):
        Indicator.objects.for_user(users["province"])


def test_region_keyed_models_of_the_project_are_scoped_or_say_why():
    assert checks.check_region_keyed_models() == []
    from django.apps import apps

    for label in checks.PENDING:  # pending entries are removed once their model is scoped
        model = apps.get_model(label)
        assert checks.region_key_fields(model), f"{label}: no region key any more"
        assert not getattr(model, "scope_exempt", ""), f"{label} is exempt: drop it from PENDING"
        assert not hasattr(model, "_pesiar_scope_config"), f"{label} is scoped: drop it"


def test_the_check_catches_a_region_keyed_model_without_scope():
    bare = types.new_class("Bare", (models.Model,), {}, lambda ns: ns.update(_bare_attrs()))
    errors = checks._check_model(bare)
    assert [e.id for e in errors] == ["accounts.E002"]
    assert [e.id for e in checks._check_model(Household)] == []


def _bare_attrs() -> dict:
    return {
        "__module__": __name__,
        "village_code": models.CharField(max_length=13),
        "Meta": type("Meta", (), {"app_label": "scopetest"}),
        "__str__": lambda self: "bare",
    }


# --- SQL over Parquet (DuckDB) ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(PROFILES))
def test_scope_sql_keeps_duckdb_queries_inside_the_scope(users, name):
    user = users[name]
    con = duckdb.connect()
    con.execute("CREATE TABLE people (village_code VARCHAR, kode_desa VARCHAR, nik VARCHAR)")
    for i, code in enumerate(VILLAGES):
        con.execute(
            "INSERT INTO people VALUES (?, ?, ?)", [code, code.replace(".", ""), nik_for(code, i)]
        )
    scope = get_scope(user)
    expected = sorted(c for c in VILLAGES if scope.contains(c))
    where, params = scope_sql(user, "village_code")
    got = con.execute(f"SELECT village_code FROM people WHERE {where} ORDER BY 1", params)
    assert [r[0] for r in got.fetchall()] == expected
    where, params = scope_sql(user, "kode_desa", dotted=False)
    got = con.execute(f"SELECT village_code FROM people WHERE {where} ORDER BY 1", params)
    assert [r[0] for r in got.fetchall()] == expected
    if can_see_personal(user):
        where, params = scope_sql(user, "village_code", personal=True)
        niks = con.execute(
            f"SELECT {Viewer.of(user).identifier_sql('nik')} FROM people WHERE {where} ORDER BY 1",
            params,
        ).fetchall()
        full = can_see_full_identifiers(user)
        assert all(("*" in n) != full for (n,) in niks)
        assert all(len(n) == 16 for (n,) in niks)
    else:
        with pytest.raises(PermissionDenied):
            scope_sql(user, "village_code", personal=True)


def test_scope_sql_works_on_django_cursors_and_refuses_odd_column_names(rows, users):
    where, params = scope_sql(users["branch"], "village_code", paramstyle="format")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM scopetest_indicator WHERE {where}", params)
        assert cursor.fetchone()[0] == 6  # 4 in Merangin, 1 in Kerinci, 1 in Sarolangun
    for bad in ("village_code; DROP TABLE x", "1=1 OR village_code", "a b"):
        with pytest.raises(ValueError):
            scope_sql(users["branch"], bad)
    assert scope_sql(users["admin"], "village_code") == ("TRUE", [])


# --- masking, reveal and the access log -------------------------------------------------------


def test_mask_identifier_keeps_only_province_and_regency():
    assert mask_identifier("1502051002900001") == "1502************"
    assert mask_identifier("1502050101900001") != "1502050101900001"
    assert mask_identifier("12345678") == "********"
    assert mask_identifier(None) == "" and mask_identifier("") == ""


FULL_NIK = {"admin", "dukcapil", "branch", "agent"}  # admin: only through Viewer.reveal()


@pytest.mark.parametrize("name", list(PROFILES))
def test_pages_show_nik_masked_or_full_by_role_and_each_read_is_logged(rows, users, name):
    user = users[name]
    if not can_see_personal(user):
        with pytest.raises(PermissionDenied):
            Household.objects.for_user(user)
        assert AccessLog.objects.count() == 0
        return
    got = Viewer.of(user).rows(
        Household.objects.for_user(user),
        kind=AccessKind.PAGE,
        name="/households/",
        fields=("village", "kk", "head_nik", "head_name"),
        region=PROFILES[name].scopes[0] if PROFILES[name].scopes else "",
    )
    full = name in FULL_NIK and name != "admin"
    assert can_see_full_identifiers(user) == full
    for row in got:
        for field in ("kk", "head_nik"):
            assert len(row[field]) == 16
            assert ("*" in row[field]) != full, (name, row)
        assert row["head_name"].startswith("Kepala")
    entry = AccessLog.objects.get()
    assert (entry.user, entry.username, entry.kind, entry.name) == (
        user,
        user.username,
        "page",
        "/households/",
    )
    assert entry.rows == len(got) > 0
    assert entry.scope == get_scope(user).label
    assert entry.full_identifiers == full


def test_viewer_rows_need_the_queryset_scoped_for_the_same_user(rows, users):
    agent = Viewer.of(users["agent"])
    with pytest.raises(UnscopedQueryError):
        agent.rows(Household.objects.all(), kind="export", name="x")
    with pytest.raises(UnscopedQueryError):
        agent.rows(Household.objects.for_user(users["branch"]), kind="api", name="x")
    assert AccessLog.objects.count() == 0


def test_admin_reveals_a_full_nik_on_demand_and_the_reveal_is_logged(rows, users):
    household = Household.objects.for_user(users["admin"]).filter(village="16.09.01.2001")[0]
    admin = Viewer.of(users["admin"])
    shown = admin.rows(Household.objects.for_user(users["admin"]), kind="page", name="/h/")
    assert all("*" in r["head_nik"] for r in shown)
    value = admin.reveal(household.head_nik, what="head NIK of household", region="16.09.01.2001")
    assert value == household.head_nik
    entry = AccessLog.objects.filter(kind=AccessKind.REVEAL).get()
    assert entry.rows == 1 and entry.full_identifiers and entry.region_code == "16.09.01.2001"
    assert household.head_nik not in entry.name


def test_reveal_is_refused_outside_the_role_or_the_scope(rows, users):
    def reveal(name: str, region: str) -> str:
        return Viewer.of(users[name]).reveal("1502050101900001", what="nik", region=region)

    with pytest.raises(PermissionDenied):
        reveal("regency", "15.02.05.1002")
    with pytest.raises(PermissionDenied):
        reveal("viewer", "15.02.05.1002")
    with pytest.raises(PermissionDenied):
        reveal("agent", "15.02.05.2008")
    assert reveal("agent", "15.02.05.1002")
    assert AccessLog.objects.count() == 1


def test_the_viewer_logs_the_path_without_the_query(rf, users):
    request = rf.get("/households/15.02/", {"q": "1502050101900001"})
    request.user = users["regency"]
    entry = viewer_for(request).log_request(request, rows=4, kind=AccessKind.EXPORT, region="15.02")
    assert (entry.name, entry.kind, entry.rows, entry.scope) == (
        "/households/15.02/",
        "export",
        4,
        "15.02",
    )


def test_the_access_log_is_append_only(users):
    entry = log_access(users["agent"], AccessKind.EXPORT, "worklist.xlsx", rows=12)
    entry.rows = 0
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AccessLog.objects.filter(pk=entry.pk).update(rows=0)
    with pytest.raises(AppendOnlyError):
        AccessLog.objects.all().delete()
    assert AccessLog.objects.get().rows == 12
    from django.contrib.auth.models import Permission

    perms = Permission.objects.filter(
        content_type__model="accesslog", content_type__app_label="accounts"
    )
    assert {p.codename for p in perms} == {"view_accesslog"}  # no change or delete permission


def test_only_the_national_admin_reads_the_access_log_in_the_admin(client, users):
    entry = log_access(users["agent"], AccessKind.API, "/api/households/", rows=3)
    admin = users["admin"]
    client.force_login(admin)
    listing = client.get("/admin/accounts/accesslog/")
    assert listing.status_code == 200 and "/api/households/" in listing.content.decode()
    change = client.get(f"/admin/accounts/accesslog/{entry.pk}/change/")
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert (
        client.post(f"/admin/accounts/accesslog/{entry.pk}/change/", {"rows": 0}).status_code == 403
    )
    assert client.get(f"/admin/accounts/accesslog/{entry.pk}/delete/").status_code == 403
    assert client.get("/admin/accounts/accesslog/add/").status_code == 403
    assert AccessLog.objects.get().rows == 3
    client.force_login(users["province"])
    assert client.get("/admin/accounts/accesslog/").status_code == 302  # to the admin login


def test_account_changes_are_kept_by_auditlog(db):
    user = create_user(
        "siti", role="agent", scopes=["15.02.05.1002"], password="x", check_password=False
    )
    user.role = Role.VIEWER
    user.save()
    entries = LogEntry.objects.get_for_object(user)
    assert entries.count() == 2
    assert "role" in entries.order_by("timestamp").last().changes_dict
    assert all("password" not in e.changes_dict for e in entries)
    scope = Scope.objects.get(user=user)
    assert LogEntry.objects.get_for_object(scope).count() == 1


# --- roles and scopes -------------------------------------------------------------------------


def test_role_decides_admin_site_access(db):
    admin = User.objects.create_superuser("root", "root@example.id", "x")
    assert admin.role == Role.ADMIN and admin.is_staff
    officer = User.objects.create(username="officer", role=Role.PROVINCE, is_superuser=True)
    assert not officer.is_superuser and not officer.is_staff
    assert get_scope(admin).national


def test_visible_regions_are_scope_descendants_and_ancestors(db, world, users):
    agent = set(visible_regions(users["agent"]).values_list("code", flat=True))
    assert agent == {"15", "15.02", "15.02.05", "15.02.05.1002", "15.02.05.1003"}
    regency = visible_regions(users["regency"])
    assert regency.filter(code="15.02.05.2008").exists()
    assert not regency.filter(code__in=["15.71", "15.01", "16", "16.09"]).exists()
    assert visible_regions(users["admin"]).filter(code="16.09").exists()


def test_region_pages_show_only_the_users_part_of_the_tree(client, world, users):
    client.force_login(users["regency"])
    page = client.get("/regions/15/").content.decode()
    assert "Kabupaten Merangin" in page and "Kota Jambi" not in page and "15.71" not in page
    assert client.get("/regions/15.71/").status_code == 404
    assert client.get("/regions/16/").status_code == 404
    provinces = client.get("/regions/").content.decode()
    assert "Jambi" in provinces and "Aceh" not in provinces
    client.force_login(users["agent"])
    district = client.get("/regions/15.02.05/").content.decode()
    assert "Dusun Baru" in district and "Pasar Rantau Panjang" in district
    assert "Koto Rayo" not in district
    assert client.get("/regions/15.02.05.2008/").status_code == 404


# --- every route of the project ---------------------------------------------------------------

# Routes anyone may reach without logging in (route names, with namespace).
PUBLIC_ROUTES = {"login", "logout", "set_language", "admin:login", "healthz"}
# /healthz answers 503 while no task worker beats (none does in these tests): its answer.
HEALTH_ROUTES = {"healthz"}
# The agent app's manifest and service worker hold no data; browsers fetch the manifest
# without cookies, so they are public.
PUBLIC_ROUTES |= {"field:manifest", "field:service_worker"}
LOGIN_VIEWS = {"login", "admin:login"}
_CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>\w+)>")
_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>(?:[^()]|\([^()]*\))*)\)")


@dataclass
class Route:
    path: str
    name: str
    pattern: URLPattern


def _fill(pattern: object, values: list[str]) -> str:
    """The pattern's text with each parameter replaced by the first candidate that fits."""
    if isinstance(pattern, RoutePattern):
        text = str(pattern)

        def route_value(match: re.Match) -> str:
            converter = pattern.converters[match["name"]]
            for value in values:
                if re.fullmatch(converter.regex, value):
                    return value
            raise AssertionError(f"no test value fits <{match[0]}> in {text!r}")

        return _CONVERTER.sub(route_value, text)
    assert isinstance(pattern, RegexPattern), pattern
    text = pattern._regex

    def group_value(match: re.Match) -> str:
        body = match["body"]
        for value in values:
            if re.fullmatch(body, value):
                return value
        first = body.split("|")[0]
        if re.fullmatch(r"[\w-]+", first):
            return first
        raise AssertionError(f"no test value fits {match[0]} in {text!r}")

    text = _GROUP.sub(group_value, text)
    return re.sub(r"\\(.)", r"\1", text.removeprefix("^").removesuffix("$").removesuffix(r"\Z"))


def routes(values: list[str]) -> list[Route]:
    """Every URL pattern of the project, with parameters filled from `values`."""
    found: list[Route] = []

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}{entry.namespace}:"
                walk(entry, prefix + _fill(entry.pattern, values), ns)
            else:
                url = "/" + prefix + _fill(entry.pattern, values)
                match = resolve(url)
                assert match.func is entry.callback, f"{url} does not reach {entry}"
                found.append(Route(url, namespace + (entry.name or ""), entry))

    walk(get_resolver(), "", "")
    return found


def markers(codes: tuple[str, ...], visible_names: set[str]) -> list[str]:
    """Codes and names that must not show for regions `codes` (and their children)."""
    out = []
    for region in Region.objects.filter(code__in=codes) | Region.objects.filter(
        parent_id__in=codes
    ):
        if "." in region.code:  # a bare province code ('16') is too short to look for
            out.append(region.code)
        if len(region.name) > 3 and not any(region.name in name for name in visible_names):
            out.append(region.name)
    return out


def leaks(client: Client, user: User, outside: tuple[str, ...]) -> list[str]:
    """Routes that answer `user` with a page showing a region outside the user's scope."""
    visible_names = set(visible_regions(user).values_list("name", flat=True))
    forbidden = markers(outside, visible_names)
    problems = []
    peers = peer_codes(get_scope(user).codes)
    for code in outside:
        for route in routes([code, "1", "x"]):
            if route.name.startswith("monev:") and code in peers:
                continue  # a peer's figures are aggregates an officer compares with (no people)
            response = client.get(route.path, follow=True)
            assert response.status_code < 500 or route.name in HEALTH_ROUTES, route.path
            if response.status_code != 200:
                continue
            if response.resolver_match and response.resolver_match.view_name in LOGIN_VIEWS:
                continue  # sent to log in (the login form repeats the asked-for path in `next`)
            content = response.content.decode(errors="replace")
            shown = [m for m in forbidden if m in content]
            if shown:
                problems.append(f"{route.path} ({route.name or route.pattern}) shows {shown}")
    return problems


def test_the_route_walk_covers_every_pattern(db):
    walked = routes(["15.02", "1", "x"])
    names = {r.name for r in walked}
    assert {"home", "regions:list", "regions:detail", "login", "admin:index"} <= names
    assert "/regions/15.02/" in {r.path for r in walked}
    assert len(walked) > 30


def test_anonymous_visitors_get_only_the_public_routes(client, world):
    for route in routes(["15.02", "1", "x"]):
        response = client.get(route.path, follow=True)
        if route.name in PUBLIC_ROUTES:
            continue
        view = response.resolver_match.view_name if response.resolver_match else None
        assert view in LOGIN_VIEWS or response.status_code in (401, 403, 405), (
            route.path,
            response.status_code,
        )


@pytest.mark.parametrize("name", SCOPED)
def test_no_route_shows_a_scoped_user_a_region_outside_the_scope(client, world, users, name):
    client.force_login(users[name])
    assert leaks(client, users[name], PROFILES[name].outside) == []


def test_every_route_answers_the_national_admin_without_error(client, world, users):
    client.force_login(users["admin"])
    for route in routes(["16.09", "1", "x"]):
        status = client.get(route.path, follow=True).status_code
        assert status < 500 or route.name in HEALTH_ROUTES, route.path


def _leaky_view(request: HttpRequest, code: str) -> HttpResponse:
    return HttpResponse(Region.objects.get(code=code).name)


def _scoped_view(request: HttpRequest, code: str) -> HttpResponse:
    rows = viewer_for(request).rows(
        Household.objects.for_user(request.user).filter(village__pk__startswith=code),
        kind="page",
        name=request.path,
        fields=("head_name", "village"),
        region=code,
    )
    return HttpResponse(" ".join(f"{r['village']} {r['head_name']}" for r in rows))


def test_the_route_walk_finds_a_leaking_page(client, rows, users, settings):
    urls = types.ModuleType("leaky_urls")
    urls.urlpatterns = [
        path("leak/<str:code>/", _leaky_view, name="leak"),
        path("fine/<str:code>/", _scoped_view, name="fine"),
    ]
    sys.modules["leaky_urls"] = urls
    settings.ROOT_URLCONF = "leaky_urls"
    try:
        client.force_login(users["regency"])
        found = leaks(client, users["regency"], ("15.71",))
        assert len(found) == 1 and found[0].startswith("/leak/15.71/")
        assert client.get("/fine/15.02/").content.count(b"Kepala") == 8  # 4 villages, 2 each
        assert AccessLog.objects.filter(name="/fine/15.71/", rows=0).exists()
    finally:
        del sys.modules["leaky_urls"]


# --- login throttling, sessions, deployment settings ------------------------------------------


def test_login_is_throttled_after_five_failures(db, settings):
    create_user("budi", role="viewer", scopes=["15"], password="benar-sekali-123")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/login/", {"username": "budi", "password": "salah"})
        assert response.status_code == 200
    assert (
        client.post("/login/", {"username": "budi", "password": "benar-sekali-123"}).status_code
        == 302
    )
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "budi", "password": "salah"})
    locked = client.post("/login/", {"username": "budi", "password": "benar-sekali-123"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # the lock is per username and address: the same user from elsewhere can still log in
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    ok = elsewhere.post("/login/", {"username": "budi", "password": "benar-sekali-123"})
    assert ok.status_code == 302


def test_sessions_expire_and_cookies_are_protected(client, settings, users):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_HTTPONLY
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    client.force_login(users["agent"])
    assert client.session.get_expire_at_browser_close()
    csrf_client = Client(enforce_csrf_checks=True)
    assert csrf_client.post("/login/", {"username": "a", "password": "b"}).status_code == 403


def _production_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "pesiar.settings",
            "PESIAR_DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "p-" + os.urandom(40).hex(),
            "ALLOWED_HOSTS": "pesiar.example.id",
        }
    )
    env.update(extra)
    return env


def test_deploy_check_passes_with_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pesiar", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_https_settings_follow_debug(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE)"
    )
    production = subprocess.run(
        [sys.executable, "-c", code], env=_production_env(tmp_path), capture_output=True, text=True
    )
    assert production.stdout.split() == ["True", "True", "True", "True"], production.stderr
    code = (
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS)"
    )
    development = subprocess.run(
        [sys.executable, "-c", code],
        env=_production_env(tmp_path, DEBUG="1"),
        capture_output=True,
        text=True,
    )
    assert development.stdout.split() == ["False", "0"], development.stderr


# --- creating users ---------------------------------------------------------------------------


def test_createuser_makes_a_scoped_user_with_the_password_from_the_environment(
    db, monkeypatch, capsys
):
    monkeypatch.setenv("PESIAR_PASSWORD", "kantor-cabang-bangko-7")
    call_command("createuser", "rina", "--role", "branch", "--scope", "15.02", "--scope", "1503")
    user = User.objects.get(username="rina")
    assert user.role == Role.BRANCH and user.check_password("kantor-cabang-bangko-7")
    assert sorted(user.scopes.values_list("region_id", flat=True)) == ["15.02", "15.03"]
    assert "15.02 15.03" in capsys.readouterr().out
    call_command("createuser", "pusat", "--role", "admin")
    assert User.objects.get(username="pusat").is_superuser
    call_command(
        "createuser", "dukcapil", "--role", "regency", "--scope", "15.02", "--office", "dukcapil"
    )
    assert can_see_full_identifiers(User.objects.get(username="dukcapil"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "boss", "--scope", "15"], "unknown role 'boss'"),
        (["--role", "regency", "--scope", "99.99"], "region 99.99 is not loaded"),
        (["--role", "regency", "--scope", "15.2"], "'15.2' is not a region code"),
        (["--role", "agent", "--scope", "15.02"], "village"),
        (["--role", "province", "--scope", "15.02"], "province"),
        (["--role", "admin", "--scope", "15"], "give no --scope"),
        (["--role", "regency"], "at least one region scope"),
        (["--role", "agent", "--scope", "15.02.05.1002", "--office", "dinkes"], "office"),
        (["--role", "regency", "--scope", "15.02", "--office", "polisi"], "unknown office"),
    ],
)
def test_createuser_fails_clearly(db, monkeypatch, args, message):
    monkeypatch.setenv("PESIAR_PASSWORD", "kantor-cabang-bangko-7")
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("createuser", "rina", *args)
    assert not User.objects.filter(username="rina").exists()


def test_createuser_refuses_weak_passwords_existing_users_and_missing_passwords(db, monkeypatch):
    monkeypatch.setenv("PESIAR_PASSWORD", "12345678")
    with pytest.raises(CommandError, match="password"):
        call_command("createuser", "rina", "--role", "viewer", "--scope", "15")
    monkeypatch.setenv("PESIAR_PASSWORD", "kantor-cabang-bangko-7")
    call_command("createuser", "rina", "--role", "viewer", "--scope", "15")
    with pytest.raises(CommandError, match="already exists"):
        call_command("createuser", "rina", "--role", "viewer", "--scope", "15")
    monkeypatch.delenv("PESIAR_PASSWORD")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    with pytest.raises(CommandError, match="PESIAR_PASSWORD"):
        call_command("createuser", "rudi", "--role", "viewer", "--scope", "15")


def test_createuser_asks_for_the_password(db, monkeypatch):
    monkeypatch.delenv("PESIAR_PASSWORD", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "kantor-cabang-bangko-7")
    call_command("createuser", "rudi", "--role", "agent", "--scope", "1502051002")
    assert User.objects.get(username="rudi").check_password("kantor-cabang-bangko-7")


def test_admin_creates_a_user_with_role_and_scopes_in_the_web_ui(client, users):
    client.force_login(users["admin"])
    form = {
        "username": "agen-baru",
        "role": "agent",
        "office": "",
        "password1": "agen-desa-merangin-9",
        "password2": "agen-desa-merangin-9",
        "scopes-TOTAL_FORMS": "1",
        "scopes-INITIAL_FORMS": "0",
        "scopes-0-region": "15.02.05.1002",
    }
    refused = client.post("/admin/accounts/user/add/", {**form, "scopes-0-region": "15.02"})
    assert refused.status_code == 200 and not User.objects.filter(username="agen-baru").exists()
    assert (
        "village" in refused.content.decode().lower() or "desa" in refused.content.decode().lower()
    )
    response = client.post("/admin/accounts/user/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="agen-baru")
    assert user.role == Role.AGENT and not user.is_staff
    assert list(user.scopes.values_list("region_id", flat=True)) == ["15.02.05.1002"]
    change = {  # to regency officer, keeping the village: no regency officer's scope
        "username": "agen-baru",
        "role": "regency",
        "office": "dinkes",
        "is_active": "on",
        "scopes-TOTAL_FORMS": "1",
        "scopes-INITIAL_FORMS": "1",
        "scopes-0-id": str(user.scopes.get().pk),
        "scopes-0-user": str(user.pk),
        "scopes-0-region": "15.02.05.1002",
    }
    refused = client.post(f"/admin/accounts/user/{user.pk}/change/", change)
    assert refused.status_code == 200
    assert User.objects.get(username="agen-baru").role == Role.AGENT
    change["scopes-0-region"] = "15.02"
    assert client.post(f"/admin/accounts/user/{user.pk}/change/", change).status_code == 302
    assert User.objects.get(username="agen-baru").role == Role.REGENCY
    autocomplete = client.get(
        "/admin/autocomplete/",
        {
            "term": "15.02.05.10",
            "app_label": "accounts",
            "model_name": "scope",
            "field_name": "region",
        },
    )
    assert "Dusun Baru" in autocomplete.content.decode()
    client.force_login(users["province"])
    assert client.get("/admin/accounts/user/add/").status_code == 302


def test_demo_has_an_account_for_every_role(db):
    accounts = demo.ensure_accounts()
    assert {a.role for a in accounts} == set(Role.values)
    for account in accounts:
        user = User.objects.get(username=account.username)
        assert user.role == account.role and user.check_password(demo.DEMO_PASSWORD)
        assert set(user.scopes.values_list("region_id", flat=True)) == set(account.scopes)
    assert User.objects.get(username="admin").is_superuser
    assert get_scope(User.objects.get(username="bpjs-bangko")).codes == ("15.01", "15.02", "15.03")

"""A small field world for tests: three families in Merangin, their register rows as Parquet,
a map and a sweep that list them, and users of every role. Shared by the field, API and ODK
tests."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings

from pesiar.accounts.models import Scope, User
from pesiar.linkage.models import LinkRun
from pesiar.registers.models import Snapshot
from pesiar.sweep.models import SweepRun, WorklistItem, WorklistMember

AS_OF = date(2024, 6, 1)
DUSUN_BARU = "15.02.05.1002"
PASAR = "15.02.05.1003"
OUTSIDE = "15.02.05.2008"

# kk -> village, members (nik, name, sex, birth, relation, status)
FAMILIES: dict[str, tuple[str, list[tuple[str, str, str, date, str, str]]]] = {
    "1502050101200001": (
        DUSUN_BARU,
        [
            ("1502051005800001", "BUDI SANTOSO", "L", date(1980, 5, 10), "KEPALA KELUARGA",
             "NOT_REGISTERED"),
            ("1502055506820002", "SITI AMINAH", "P", date(1982, 6, 15), "ISTRI", "NOT_REGISTERED"),
            ("1502050201100003", "ANDI", "L", date(2010, 1, 2), "ANAK", "NOT_REGISTERED"),
        ],
    ),
    "1502050101200002": (
        PASAR,
        [
            ("1502050303700004", "RUDI HARTONO", "L", date(1970, 3, 3), "KEPALA KELUARGA",
             "ACTIVE"),
            ("1502054404720005", "DEWI", "P", date(1972, 4, 4), "ISTRI", "NOT_REGISTERED"),
        ],
    ),
    "1502050101200003": (
        OUTSIDE,
        [
            ("1502050505600006", "AHMAD", "L", date(1960, 5, 5), "KEPALA KELUARGA",
             "NOT_REGISTERED"),
        ],
    ),
}  # fmt: skip

PROFILES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "admin": ("admin", (), ""),
    "agent": ("agent", (DUSUN_BARU, PASAR), ""),
    "agent2": ("agent", (OUTSIDE,), ""),
    "branch": ("branch", ("15.02",), ""),
    "dinkes": ("regency", ("15.02",), "dinkes"),
    "kerinci": ("regency", ("15.01",), "dinkes"),
    "viewer": ("viewer", ("15.02",), ""),
}


@dataclass
class World:
    users: dict[str, User]
    items: dict[str, WorklistItem]
    population: Snapshot
    membership: Snapshot

    def item(self, village: str) -> WorklistItem:
        return next(i for i in self.items.values() if i.village_id == village)


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _snapshot(kind: str, as_of: date, rows: list[tuple], columns: str) -> Snapshot:
    folder = Path("registers") / kind / as_of.isoformat() / "test"
    snapshot = Snapshot.objects.create(kind=kind, as_of=as_of, source_name="test", sha256=kind,
                                       folder=str(folder))  # fmt: skip
    write_parquet(snapshot.data_file, rows, columns)
    return snapshot


def write_parquet(path: Path, rows: list[tuple], columns: str) -> None:
    """Write `rows` with `columns` ('nik VARCHAR, ...') as Parquet at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"CREATE TABLE t ({columns})")
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            con.executemany(f"INSERT INTO t VALUES ({marks})", [list(r) for r in rows])
        con.execute(f"COPY t TO {_q(path)} (FORMAT parquet)")
    finally:
        con.close()


MEMBERSHIP_COLUMNS = "noka VARCHAR, nik VARCHAR, name VARCHAR, status VARCHAR, village_code VARCHAR"


def membership_snapshot(as_of: date, rows: list[tuple[str, str, str, str, str]]) -> Snapshot:
    """A membership snapshot of (noka, nik, name, status, village_code) rows."""
    return _snapshot("membership", as_of, rows, MEMBERSHIP_COLUMNS)


def build_world() -> World:
    """Register rows, map, sweep and users (needs settings.DATA_DIR pointed at a temp folder)."""
    assert "tmp" in str(settings.DATA_DIR) or "pytest" in str(settings.DATA_DIR)
    pop_rows = [
        (nik, kk, name, sex, birth, village, relation, None)
        for kk, (village, members) in FAMILIES.items()
        for nik, name, sex, birth, relation, _status in members
    ]
    population = _snapshot(
        "population",
        AS_OF,
        pop_rows,
        "nik VARCHAR, kk VARCHAR, name VARCHAR, sex VARCHAR, birth_date DATE, "
        "village_code VARCHAR, family_relation VARCHAR, death_date DATE",
    )
    active = [
        (f"000000000000{i}", nik, name, "ACTIVE", village)
        for i, (kk, (village, members)) in enumerate(FAMILIES.items())
        for nik, name, _s, _b, _r, status in members
        if status == "ACTIVE"
    ]
    membership = membership_snapshot(AS_OF, active)
    run = LinkRun.objects.create(as_of=AS_OF, population=population, membership=membership,
                                 status=LinkRun.Status.DONE, folder="linkage/test")  # fmt: skip
    write_parquet(
        run.persons_file,
        [
            (nik, kk, village, status)
            for kk, (village, members) in FAMILIES.items()
            for nik, _n, _s, _b, _r, status in members
        ],
        "nik VARCHAR, kk VARCHAR, village_code VARCHAR, status VARCHAR",
    )
    sweep = SweepRun.objects.create(as_of=AS_OF, link_run=run)
    items = {}
    for priority, (kk, (village, members)) in enumerate(FAMILIES.items()):
        item = WorklistItem.objects.create(
            kk=kk, village_id=village, head_name=members[0][1], address="JL. DESA",
            priority=100 - priority, pathways=["PBPU"], members_total=len(members),
            members_uncovered=sum(m[5] != "ACTIVE" for m in members), first_as_of=AS_OF,
            last_as_of=AS_OF, sweep=sweep,
        )  # fmt: skip
        for nik, name, sex, birth, relation, status in members:
            WorklistMember.objects.create(
                item=item, nik=nik, name=name, sex=sex, birth_date=birth, relation=relation,
                status=status, pathway="" if status == "ACTIVE" else "PBPU",
            )  # fmt: skip
        items[kk] = item
    users = {}
    for name, (role, scopes, office) in PROFILES.items():
        user = User(username=f"f-{name}", role=role, office=office or "")
        user.set_password("pesiar-Test-pass-1")
        user.save()
        for code in scopes:
            Scope.objects.create(user=user, region_id=code)
        users[name] = user
    return World(users=users, items=items, population=population, membership=membership)


def family(kk: str) -> list[dict[str, Any]]:
    village, members = FAMILIES[kk]
    return [{"nik": m[0], "name": m[1], "status": m[5], "village": village} for m in members]

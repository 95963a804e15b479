"""Snapshots kept per scope, and the one way readers combine them.

An officer imports the register of their own regions; the national administrator imports
province- or nation-wide files. Each import is the current snapshot of its kind, date and
scope, so replacing one replaces only that scope's rows. A reader asking for a kind on a date
gets, for every region, the newest data that covers it:

- `snapshot_files(kind, as_of)`: per scope, the latest current snapshot on or before `as_of`,
  with the narrower scopes whose newer (or same-date) snapshot takes over part of it;
- `snapshot_sql(kind, as_of)`: the same as one SQL relation for DuckDB
  (`FROM {snapshot_sql(...)}` instead of `FROM read_parquet(path)`).
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from pesiar.accounts.models import Role
from pesiar.accounts.scoping import get_scope
from pesiar.ops.duck import sql_text
from pesiar.regions.models import Level, Region, is_within
from pesiar.registers.models import Snapshot
from pesiar.registers.schema import REGISTERS, Kind

LINE_STRIDE = 10**11


class ImportScopeError(ValueError):
    """The importer may not import this kind of file for this region."""


@dataclass(frozen=True)
class SnapshotFile:
    snapshot: Snapshot
    scope: str  # '' nation-wide
    excluded: tuple[str, ...]  # regions inside `scope` that a narrower snapshot covers

    @property
    def path(self) -> Path:
        return self.snapshot.data_file


def _inside(code: str, scope: str) -> bool:
    """True when region `code` lies inside `scope` ('' is the whole nation)."""
    return scope == "" or is_within(code, scope)


def snapshot_files(kind: str, as_of: date) -> list[SnapshotFile]:
    """The files that together hold register `kind` on `as_of`, broadest scope first.

    Per scope the latest current snapshot on or before `as_of`. A snapshot is left out when a
    broader scope has newer data; the rows of a narrower scope with data as new or newer are
    taken from that narrower snapshot (its region is in `excluded` of the broader one)."""
    latest: dict[str, Snapshot] = {}
    for snapshot in Snapshot.objects.current().filter(kind=kind, as_of__lte=as_of):
        held = latest.get(snapshot.scope)
        if held is None or (snapshot.as_of, snapshot.pk) > (held.as_of, held.pk):
            latest[snapshot.scope] = snapshot
    kept = {
        scope: s
        for scope, s in latest.items()
        if not any(
            other != scope and _inside(scope, other) and o.as_of > s.as_of
            for other, o in latest.items()
        )
    }
    out = []
    for scope in sorted(kept, key=lambda c: (c.count(".") if c else -1, c)):
        snapshot = kept[scope]
        narrower = sorted(c for c in kept if c != scope and _inside(c, scope))
        # a region inside another excluded one is excluded with it
        excluded = tuple(
            c for c in narrower if not any(o != c and is_within(c, o) for o in narrower)
        )
        out.append(SnapshotFile(snapshot=snapshot, scope=scope, excluded=excluded))
    return out


def _region_test(code: str) -> str:
    column = "coalesce(village_code, '')"
    return f"({column} = {sql_text(code)} OR {column} LIKE {sql_text(code + '.%')})"


def snapshot_sql(kind: str, as_of: date) -> str | None:
    """A DuckDB relation (parenthesised SELECT) of register `kind` on `as_of` over every
    scope's snapshot, or None when there is none."""
    files = snapshot_files(kind, as_of)
    if not files:
        return None
    parts = []
    for i, f in enumerate(files):
        # `line` identifies a row within its file: kept apart across files
        star = f"* REPLACE (CAST(line AS BIGINT) + {i} * {LINE_STRIDE} AS line)" if i else "*"
        select = f"SELECT {star} FROM read_parquet({sql_text(f.path)})"
        if f.excluded:
            select += " WHERE NOT (" + " OR ".join(_region_test(c) for c in f.excluded) + ")"
        parts.append(select)
    return "(" + " UNION ALL BY NAME ".join(parts) + ")"


def has_region_column(kind: str) -> bool:
    return any(c.name == "village_code" for c in REGISTERS[Kind(kind)].columns)


def import_scope(user: Any, kind: str, requested: str | None = None) -> str:
    """The region a file imported by `user` covers ('' nation-wide), or ImportScopeError.

    The national administrator (and the operator's CLI, `user` None) imports any region or the
    whole nation. Everyone else imports a regency, district or village inside their own scope:
    the one they name, or their only scope. Registers without a village column are nation-wide
    and only the national administrator imports them."""
    requested = (requested or "").strip()
    national = user is None or getattr(user, "role", None) == Role.ADMIN
    if requested and not Region.objects.filter(code=requested).exists():
        raise ImportScopeError(_("region %(code)s does not exist") % {"code": requested})
    if national:
        return requested
    if not has_region_column(kind):
        raise ImportScopeError(
            _("the %(kind)s register has no village column: it covers the whole nation, and only "
              "the national administrator imports it") % {"kind": kind}
        )  # fmt: skip
    scope = get_scope(user)
    if not requested:
        if len(scope.codes) != 1:
            raise ImportScopeError(
                _("you hold several regions (%(codes)s): choose the one the file covers")
                % {"codes": ", ".join(scope.codes)}
            )
        requested = scope.codes[0]
    if not scope.contains(requested):
        raise ImportScopeError(
            _("region %(code)s is outside your scope (%(scope)s)")
            % {"code": requested, "scope": scope.label}
        )
    if requested.count(".") + 1 < Level.REGENCY:
        raise ImportScopeError(
            _("a province-wide file (%(code)s) is imported by the national administrator: "
              "import the file of one regency") % {"code": requested}
        )  # fmt: skip
    return requested

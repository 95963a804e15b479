"""The only ways personal data leaves Pesiar, each written to the append-only AccessLog.

- `read_personal(user, queryset, kind=..., name=...)`: rows for a page, export or API answer,
  with NIK/KK masked unless the user's role sees them in full; one log entry with the row count.
- `reveal(user, value, what=..., region=...)`: one full NIK/KK on demand; one log entry.
- `log_access(...)`: the one function that writes the log (for a page, export or API that
  reads personal data some other way, e.g. DuckDB over Parquet with `scope_sql`).
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from pesiar.accounts.models import AccessKind, AccessLog
from pesiar.accounts.scoping import (
    ScopedQuerySet,
    UnscopedQueryError,
    can_reveal,
    can_see_full_identifiers,
    get_scope,
    mask_nik,
    require_personal_access,
    scope_config,
)


def log_access(
    user: Any,
    kind: AccessKind | str,
    name: str,
    *,
    rows: int,
    region: str = "",
    full_identifiers: bool = False,
) -> AccessLog:
    """Record that `user` read `rows` personal rows through `kind` (page/export/api/reveal)
    `name` (path or export/API name), with the user's scope at this moment."""
    scope = get_scope(user)
    return AccessLog.objects.create(
        user=user,
        username=user.get_username(),
        kind=AccessKind(kind),
        name=name[:300],
        scope=scope.label[:1000],
        region_code=region,
        rows=rows,
        full_identifiers=full_identifiers,
    )


def log_request(
    request: HttpRequest,
    *,
    rows: int,
    kind: AccessKind | str = AccessKind.PAGE,
    region: str = "",
    full_identifiers: bool = False,
) -> AccessLog:
    """`log_access` for the request's user and path (the query string is left out: it may
    hold a searched NIK or name)."""
    return log_access(
        request.user,
        kind,
        request.path,
        rows=rows,
        region=region,
        full_identifiers=full_identifiers,
    )


def read_personal(
    user: Any,
    queryset: ScopedQuerySet,
    *,
    kind: AccessKind | str,
    name: str,
    fields: tuple[str, ...] = (),
    region: str = "",
) -> list[dict[str, Any]]:
    """The rows of `queryset` (narrowed with `.for_user(user)`) as dicts of `fields`, with
    identifier columns masked for roles that do not see full NIK/KK; logged as one entry."""
    require_personal_access(user)
    mark = getattr(queryset, "scope_mark", None)
    if not isinstance(queryset, ScopedQuerySet) or mark is None or mark.user_pk != user.pk:
        raise UnscopedQueryError(
            "read_personal needs a queryset narrowed with .for_user(user) for this same user"
        )
    rows = list(queryset.values(*fields))
    identifiers = [f for f in scope_config(queryset.model).identifiers if rows and f in rows[0]]
    full = can_see_full_identifiers(user)
    if not full:
        for row in rows:
            for field in identifiers:
                row[field] = mask_nik(row[field])
    log_access(
        user, kind, name, rows=len(rows), region=region, full_identifiers=full and bool(identifiers)
    )
    return rows


def reveal(user: Any, value: str, *, what: str, region: str) -> str:
    """The full NIK/KK `value` of a row in `region`, for a user who may reveal it; logged.

    `what` says what was revealed without repeating the value (e.g. 'nik of household 42').
    """
    require_personal_access(user)
    if not can_reveal(user):
        raise PermissionDenied("this role sees NIK and KK masked only")
    if not get_scope(user).contains(region):
        raise PermissionDenied("the row lies outside your region scope")
    log_access(user, AccessKind.REVEAL, what, rows=1, region=region, full_identifiers=True)
    return value

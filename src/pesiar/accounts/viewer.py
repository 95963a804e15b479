"""Who is looking: the one place that decides what a user is shown of personal data.

A `Viewer` is made once per request or API call (`viewer_for(request)`, or `Viewer.of(user)`
for a command or a task acting for a user). It holds the user's scope and whether they see NIK
and KK in full, and every page, export, API answer, ODK file and error message goes through it:

- `identifier(value)`: the NIK/KK in full, or masked so that nothing shown beside it gives it
  back (only province and regency stay: `1502************`);
- `birth(value)`: the birth date, or only the birth year for masked roles (the NIK holds the
  birth date, so day and month would give its middle digits back);
- `text(message)`: an error or notice with every 16-digit number masked for masked roles;
- `identifier_search`: exact NIK/KK search only for roles that see identifiers in full (for the
  others a yes/no answer to a guessed number would be a way to test guesses);
- `log(...)` / `log_request(...)`: the access-log entry, with the right full-identifier flag;
- `rows(queryset, ...)`: the rows of a scoped queryset as dicts, masked and logged;
- `reveal(value, ...)`: one full value on demand, for the roles that may ask (logged).
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.formats import date_format

from pesiar.accounts.audit import log_access
from pesiar.accounts.models import AccessKind, AccessLog
from pesiar.accounts.policy import (
    can_reveal,
    can_see_full_identifiers,
    can_see_personal,
    require_personal_access,
)
from pesiar.accounts.scoping import (
    ScopedQuerySet,
    UnscopedQueryError,
    UserScope,
    _column,
    get_scope,
    scope_config,
)

# Digits kept by a masked identifier: province and regency, which the user's scope shows anyway.
KEPT_DIGITS = 4
LONG_NUMBER = re.compile(r"(?<!\d)\d{16}(?!\d)")


def mask_identifier(value: str | None) -> str:
    """'1502051002900001' -> '1502************' (NIK and No. KK alike).

    The district, birth date and serial digits go: with the sex, birth year and village shown
    beside it, a masked value must not give the number back. Values of eight characters or
    fewer are masked whole.
    """
    if not value:
        return ""
    text = str(value)
    if len(text) <= 8:
        return "*" * len(text)
    return text[:KEPT_DIGITS] + "*" * (len(text) - KEPT_DIGITS)


def mask_text(message: str) -> str:
    """`message` with every 16-digit number (NIK or KK) masked."""
    return LONG_NUMBER.sub(lambda m: mask_identifier(m.group(0)), str(message))


@dataclass(frozen=True)
class Viewer:
    """The user looking, their scope and how personal data is shown to them."""

    user: Any
    scope: UserScope
    personal: bool
    full_identifiers: bool

    @classmethod
    def of(cls, user: Any) -> "Viewer":
        return cls(
            user=user,
            scope=get_scope(user),
            personal=can_see_personal(user),
            full_identifiers=can_see_full_identifiers(user),
        )

    # showing

    def identifier(self, value: str | None) -> str:
        """A NIK or KK as this user may see it."""
        if not value:
            return ""
        return str(value) if self.full_identifiers else mask_identifier(value)

    def birth(self, value: date | None) -> date | int | None:
        """The birth date, or the birth year for masked roles."""
        if value is None or self.full_identifiers:
            return value
        return value.year

    def birth_text(self, value: date | None) -> str:
        """The birth date as shown on a page ('10 Mei 1980'), or the year for masked roles."""
        if value is None:
            return ""
        if self.full_identifiers:
            return date_format(value, "j M Y")
        return str(value.year)

    def text(self, message: str) -> str:
        """An error or notice as this user may read it (16-digit numbers masked)."""
        return str(message) if self.full_identifiers else mask_text(message)

    def texts(self, messages: list[str]) -> list[str]:
        return [self.text(m) for m in messages]

    def record(self, record: dict[str, Any], identifiers: tuple[str, ...] = ("nik", "kk")) -> dict:
        """A copy of a personal record (dict) with its identifiers and birth date as shown."""
        out = dict(record)
        for key in identifiers:
            if out.get(key):
                out[key] = self.identifier(out[key])
        if "birth_date" in out and not self.full_identifiers:
            value = out["birth_date"]
            if isinstance(value, date):
                out["birth_date"] = value.year
            elif isinstance(value, str) and len(value) >= 4:
                out["birth_date"] = value[:4]
        return out

    @property
    def identifier_search(self) -> bool:
        """True when this user may look a person or family up by their exact NIK/KK."""
        return self.full_identifiers

    def identifier_sql(self, column: str) -> str:
        """An SQL expression for a NIK/KK column, masked like `identifier` (DuckDB, PostgreSQL).
        The reference for masking inside SQL: no page or export uses it yet (the tests hold it
        to `identifier`); an export that masks in DuckDB takes it from here."""
        column = _column(column)
        if self.full_identifiers:
            return column
        return (
            f"CASE WHEN length({column}) > 8 THEN left({column}, {KEPT_DIGITS}) || "
            f"repeat('*', length({column}) - {KEPT_DIGITS}) "
            f"ELSE repeat('*', length({column})) END"
        )

    # logging

    def log(
        self,
        kind: AccessKind | str,
        name: str,
        *,
        rows: int,
        region: str = "",
        identifiers: bool = True,
    ) -> AccessLog:
        """Record what was shown; `identifiers` False when no NIK/KK was among it."""
        return log_access(
            self.user,
            kind,
            name,
            rows=rows,
            region=region,
            full_identifiers=self.full_identifiers and identifiers,
        )

    def log_request(
        self,
        request: HttpRequest,
        *,
        rows: int,
        kind: AccessKind | str = AccessKind.PAGE,
        region: str = "",
        identifiers: bool = True,
    ) -> AccessLog:
        """`log` for the request's path (the query string is left out: it may hold a searched
        NIK or name)."""
        return self.log(kind, request.path, rows=rows, region=region, identifiers=identifiers)

    # reading

    def rows(
        self,
        queryset: ScopedQuerySet,
        *,
        kind: AccessKind | str,
        name: str,
        fields: tuple[str, ...] = (),
        region: str = "",
    ) -> list[dict[str, Any]]:
        """The rows of `queryset` (narrowed with `.for_user(user)`) as dicts of `fields`, with
        identifiers and birth dates as this user may see them; logged as one entry."""
        require_personal_access(self.user)
        mark = getattr(queryset, "scope_mark", None)
        if not isinstance(queryset, ScopedQuerySet) or mark is None or mark.user_pk != self.user.pk:
            raise UnscopedQueryError(
                "Viewer.rows needs a queryset narrowed with .for_user(user) for this same user"
            )
        rows = list(queryset.values(*fields))
        identifiers = tuple(
            f for f in scope_config(queryset.model).identifiers if rows and f in rows[0]
        )
        shown = [self.record(row, identifiers) for row in rows]
        self.log(kind, name, rows=len(shown), region=region, identifiers=bool(identifiers))
        return shown

    def reveal(self, value: str, *, what: str, region: str) -> str:
        """The full NIK/KK `value` of a row in `region`, for a user who may reveal it; logged.
        `what` says what was revealed without repeating the value ('nik of household 42').
        The reference for an on-demand reveal: no page offers one yet (the tests call it)."""
        require_personal_access(self.user)
        if not can_reveal(self.user):
            raise PermissionDenied("this role sees NIK and KK masked only")
        if not self.scope.contains(region):
            raise PermissionDenied("the row lies outside your region scope")
        log_access(self.user, AccessKind.REVEAL, what, rows=1, region=region, full_identifiers=True)
        return value


def viewer_for(request: HttpRequest) -> Viewer:
    """The viewer of this request (made once, then kept on the request)."""
    viewer = getattr(request, "_pesiar_viewer", None)
    if viewer is None or viewer.user is not request.user:
        viewer = Viewer.of(request.user)
        request._pesiar_viewer = viewer
    return viewer

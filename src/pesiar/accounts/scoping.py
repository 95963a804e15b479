"""Region scope: the one mechanism every page, export and API uses to narrow what it reads.

Where a user may look:

- `get_scope(user)`: the user's regions (national for the national administrator).
- `ScopedManager` / `ScopedQuerySet`: for region-keyed models. Their querysets refuse to run
  (`UnscopedQueryError`) until narrowed with `.for_user(user)`, or, in pipeline code that
  legitimately works on every region, with `.unscoped(reason="...")`.
- `scope_sql(user, column)`: the same filter as an SQL fragment and parameters, for DuckDB
  (or any DB-API cursor) over Parquet.
- `visible_regions(user)`: the part of the region tree a user is shown: their scopes, what lies
  under them, and their ancestors for navigation.

Who may see personal rows, and NIK/KK in full, is `pesiar.accounts.policy`.
"""

import contextlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models import Q

from pesiar.accounts.models import Role
from pesiar.accounts.policy import require_personal_access, require_user
from pesiar.regions.codes import ancestors, is_within, under_q, within_q, within_sql
from pesiar.regions.models import Region, RegionQuerySet

logger = logging.getLogger(__name__)

NATIONAL = "*"

# --- scope ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserScope:
    """The regions a user is responsible for: national, or a set of region codes."""

    national: bool
    codes: tuple[str, ...]

    def contains(self, code: str) -> bool:
        """True when region `code` lies inside the scope (not merely an ancestor of it)."""
        return self.national or any(is_within(code, scope) for scope in self.codes)

    @property
    def label(self) -> str:
        return NATIONAL if self.national else " ".join(self.codes)

    def q(self, lookup: str) -> Q:
        """A Q object restricting `lookup` (a field holding a dotted region code) to the scope."""
        if self.national:
            return Q()
        if not self.codes:
            return Q(pk__in=[])
        q = Q()
        for code in self.codes:
            q |= within_q(code, lookup)
        return q


def _minimal(codes: list[str]) -> tuple[str, ...]:
    """Drop codes that lie inside another code of the list."""
    codes = sorted(set(codes))
    return tuple(c for c in codes if not any(c != o and is_within(c, o) for o in codes))


def get_scope(user: Any) -> UserScope:
    """The user's scope (cached on the user object for the request)."""
    require_user(user)
    cached = getattr(user, "_pesiar_scope", None)
    if cached is not None:
        return cached
    if user.role == Role.ADMIN:
        scope = UserScope(national=True, codes=())
    else:
        scope = UserScope(
            national=False, codes=_minimal(list(user.scopes.values_list("region_id", flat=True)))
        )
    user._pesiar_scope = scope
    return scope


def forget_scope(user: Any) -> None:
    """Drop the cached scope after the user's role or scopes changed."""
    with contextlib.suppress(AttributeError):
        del user._pesiar_scope


def in_scope(user: Any, code: str) -> bool:
    return get_scope(user).contains(code)


def visible_regions(user: Any) -> RegionQuerySet:
    """Regions shown to the user: their scopes, what lies under them, and the ancestors of
    their scopes (for navigation). Regions are public reference data, but a user is shown only
    the part of the tree they are responsible for."""
    scope = get_scope(user)
    if scope.national:
        return Region.objects.all()
    if not scope.codes:
        return Region.objects.none()
    exact = set(scope.codes)
    for code in scope.codes:
        exact.update(ancestors(code))
    q = Q(code__in=sorted(exact))
    for code in scope.codes:
        q |= under_q(code)
    return Region.objects.filter(q)


# --- region-keyed querysets -------------------------------------------------------------------


class UnscopedQueryError(RuntimeError):
    """A region-keyed queryset was run without `.for_user(user)` or `.unscoped(reason=...)`."""


@dataclass(frozen=True)
class ScopeConfig:
    region_field: str
    personal: bool
    identifiers: tuple[str, ...]

    def lookup(self, model: type[models.Model]) -> str:
        """The ORM lookup that holds the dotted region code (follows relations to Region)."""
        field = resolve_field(model, self.region_field)
        if field.is_relation:
            return f"{self.region_field}__pk"
        return self.region_field


def resolve_field(model: type[models.Model], path: str) -> models.Field:
    """The field at the end of `path` (e.g. 'household__village'); FieldDoesNotExist if none."""
    field = None
    current = model
    for part in path.split("__"):
        if current is None:
            raise FieldDoesNotExist(f"{path}: {part} follows a field that is not a relation")
        field = current._meta.get_field(part)
        current = field.related_model if field.is_relation else None
    assert field is not None
    return field


def scope_config(model: type[models.Model]) -> ScopeConfig:
    config = getattr(model, "_pesiar_scope_config", None)
    if config is None:
        raise ImproperlyConfigured(
            f"{model.__name__}: give its ScopedManager the region field, "
            "e.g. objects = ScopedManager('village')"
        )
    return config


@dataclass(frozen=True)
class ScopeMark:
    """How a queryset was narrowed: for one user, or unscoped with a stated reason."""

    user_pk: Any
    label: str
    reason: str = ""


class ScopedQuerySet(models.QuerySet):
    """A queryset over region-keyed rows that refuses to run until it is narrowed.

    `.for_user(user)` keeps the rows inside the user's scopes (and refuses users who may not see
    personal rows when the model holds personal data); `.unscoped(reason=...)` is the explicit,
    greppable way out for pipeline code. Reading, counting, aggregating, updating, deleting and
    use as a subquery filter (`field__in=queryset`) all check the mark.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scope_mark: ScopeMark | None = None

    def _clone(self) -> "ScopedQuerySet":
        clone = super()._clone()
        clone._scope_mark = self._scope_mark
        return clone

    # narrowing

    def for_user(self, user: Any) -> "ScopedQuerySet":
        """Only the rows inside `user`'s region scopes."""
        config = scope_config(self.model)
        scope = get_scope(user)
        if config.personal:
            require_personal_access(user)
        if scope.national:
            qs = self._chain()
        elif scope.codes:
            qs = self.filter(scope.q(config.lookup(self.model)))
        else:
            qs = self.none()
        qs._scope_mark = ScopeMark(user_pk=user.pk, label=scope.label)
        return qs

    def unscoped(self, *, reason: str) -> "ScopedQuerySet":
        """Every region's rows, for pipeline code (imports, linkage, indicators). Never in a
        view: the reason says why it is safe, and `grep unscoped(` finds every use."""
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("unscoped() needs a reason")
        qs = self._chain()
        qs._scope_mark = ScopeMark(user_pk=None, label=NATIONAL, reason=reason.strip())
        logger.debug("unscoped %s: %s", self.model.__name__, reason)
        return qs

    @property
    def scope_mark(self) -> ScopeMark | None:
        return self._scope_mark

    def _require_scope(self, action: str) -> None:
        if self._scope_mark is None:
            raise UnscopedQueryError(
                f"{self.model._meta.label} rows are region-keyed: narrow the queryset with "
                f".for_user(user) (or .unscoped(reason=...) in pipeline code) before {action}"
            )

    # every way a queryset reaches the database

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._require_scope("reading rows")
        super()._fetch_all()

    def _iterator(self, use_chunked_fetch: bool, chunk_size: int | None):
        self._require_scope("reading rows")
        return super()._iterator(use_chunked_fetch, chunk_size)

    def aiterator(self, chunk_size: int = 2000):
        self._require_scope("reading rows")
        return super().aiterator(chunk_size)

    def count(self) -> int:
        self._require_scope("counting rows")
        return super().count()

    def exists(self) -> bool:
        self._require_scope("testing for rows")
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._require_scope("aggregating rows")
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._require_scope("updating rows")
        return super().update(**kwargs)

    def _update(self, values: Any) -> Any:
        self._require_scope("updating rows")
        return super()._update(values)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._require_scope("deleting rows")
        return super().delete()

    def _raw_delete(self, using: Any) -> int:
        self._require_scope("deleting rows")
        return super()._raw_delete(using)

    def explain(self, *, format: str | None = None, **options: Any) -> str:
        self._require_scope("explaining the query")
        return super().explain(format=format, **options)

    def resolve_expression(self, *args: Any, **kwargs: Any) -> Any:
        self._require_scope("using it as a subquery")
        return super().resolve_expression(*args, **kwargs)

    def raw(self, raw_query: str, params: Any = (), translations: Any = None, using: Any = None):
        if self._scope_mark is None or not self._scope_mark.reason:
            raise UnscopedQueryError(
                f"raw SQL on {self.model._meta.label} bypasses the scope filter: put "
                "scope_sql(user, column) into the SQL and call .unscoped(reason=...).raw(...)"
            )
        return super().raw(raw_query, params, translations, using)

    def _combinator_query(self, combinator: str, *other_qs: Any, all: bool = False):
        self._require_scope(f"combining it ({combinator})")
        for other in other_qs:
            if isinstance(other, ScopedQuerySet):
                other._require_scope(f"combining it ({combinator})")
        return super()._combinator_query(combinator, *other_qs, all=all)

    def __repr__(self) -> str:
        if self._scope_mark is None and self._result_cache is None:
            return f"<{type(self).__name__} of {self.model.__name__}, not narrowed to a scope>"
        return super().__repr__()


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):
    """The default manager of a region-keyed model.

        class Household(models.Model):
            village = models.ForeignKey(Region, on_delete=models.PROTECT)
            kk = models.CharField(max_length=16)

            objects = ScopedManager("village", personal=True)

    `region_field` names the field (or `a__b` path) holding the dotted region code, directly or
    as a foreign key to Region; `personal` marks rows of personal data (viewers are refused);
    `identifiers` names the columns masked for roles that do not see full NIK/KK.
    """

    def __init__(
        self,
        region_field: str | None = None,
        *,
        personal: bool = False,
        identifiers: tuple[str, ...] = ("nik", "kk"),
    ) -> None:
        super().__init__()
        self._scope_config = (
            ScopeConfig(region_field, personal, tuple(identifiers)) if region_field else None
        )

    def contribute_to_class(self, cls: type[models.Model], name: str) -> None:
        super().contribute_to_class(cls, name)
        if self._scope_config is not None:
            cls._pesiar_scope_config = self._scope_config

    def for_user(self, user: Any) -> ScopedQuerySet:
        return self.get_queryset().for_user(user)

    def unscoped(self, *, reason: str) -> ScopedQuerySet:
        return self.get_queryset().unscoped(reason=reason)


# --- SQL over Parquet (DuckDB) ----------------------------------------------------------------

_IDENTIFIER = re.compile(
    r'^(?:[A-Za-z_][A-Za-z0-9_]*|"[^"]+")(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|"[^"]+"))?$'
)


def _column(column: str) -> str:
    if not _IDENTIFIER.match(column):
        raise ValueError(f"{column!r} is not a column name")
    return column


def scope_sql(
    user: Any,
    column: str,
    *,
    personal: bool = False,
    dotted: bool = True,
    paramstyle: str = "qmark",
) -> tuple[str, list[str]]:
    """An SQL condition restricting `column` (a region code) to the user's scopes.

        where, params = scope_sql(user, "village_code", personal=True)
        con.execute(f"SELECT ... FROM read_parquet(?) WHERE {where}", [path, *params])

    `personal=True` first requires personal access (viewers are refused). `dotted=False` for
    columns holding codes without dots ('1502051002'). `paramstyle` is 'qmark' (?) for DuckDB
    and SQLite, 'format' (%s) for Django's cursors.
    """
    column = _column(column)
    if personal:
        require_personal_access(user)
    scope = get_scope(user)
    if scope.national:
        return "TRUE", []
    if not scope.codes:
        return "FALSE", []
    mark = {"qmark": "?", "format": "%s"}[paramstyle]
    parts, params = [], []
    for code in scope.codes:
        part, values = within_sql(column, code, mark, dotted)
        parts.append(part)
        params += values
    return "(" + " OR ".join(parts) + ")", params

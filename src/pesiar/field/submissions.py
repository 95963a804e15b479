"""What every field submission shares: its errors (with their HTTP status), the client-generated
id that makes a retry return what the first attempt made, and the worklist family's version
that tells a change made against an older state of the family."""

import uuid
from typing import Any

from django.conf import settings
from django.db.models import F, Model
from django.utils.translation import gettext as _

from pesiar.accounts.models import User
from pesiar.sweep.models import WorklistItem

CLIENT_ID = "client ids are unique across scopes; the row is checked against the user's scope"


class FieldError(ValueError):
    """A submission that cannot be accepted; `problems` says what to fix, one line each."""

    def __init__(self, problems: list[str] | str, status: int = 400) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.status = status
        super().__init__("; ".join(self.problems))


class NotFound(FieldError):
    def __init__(self, what: str) -> None:
        super().__init__(what, status=404)


def field_settings() -> dict[str, Any]:
    """PESIAR["FIELD"] with defaults: UNCONFIRMED_WEEKS (weeks after export without BPJS
    confirmation before a request is UNCONFIRMED)."""
    return {"UNCONFIRMED_WEEKS": 8, **settings.PESIAR.get("FIELD", {})}


def new_client_id() -> str:
    return str(uuid.uuid4())


def clean_client_id(client_id: str | None) -> str:
    value = (client_id or "").strip()
    if not value:
        return new_client_id()
    if len(value) > 100:
        raise FieldError(_("client_id is longer than 100 characters"))
    return value


def earlier_submission(user: User, model: type[Model], client_id: str, taken: str) -> Any | None:
    """The user's own earlier submission with `client_id` (the retry of a phone that did not
    hear the answer), or None when the id is new. An id that another user's submission holds
    is refused with `taken` (409), whether or not that submission lies in the user's scope."""
    existing = model.objects.for_user(user).filter(client_id=client_id).first()
    if existing is None:
        if model.objects.unscoped(reason=CLIENT_ID).filter(client_id=client_id).exists():
            raise FieldError(taken, status=409)
        return None
    if existing.agent_id != user.pk:
        raise FieldError(taken, status=409)
    return existing


def bump_version(item_id: int | None) -> None:
    """Raise the family's version after a change the field made to it."""
    if item_id is not None:
        WorklistItem.objects.unscoped(reason="the item was checked in scope").filter(
            pk=item_id
        ).update(version=F("version") + 1)


def is_conflict(item_id: int | None, base_version: int | None) -> bool:
    """True when a change was made against an older version of the family than the current
    one (the caller holds the item's row lock). No version sent: no conflict check."""
    if item_id is None or base_version is None:
        return False
    current = (
        WorklistItem.objects.unscoped(reason="the item was checked in scope")
        .filter(pk=item_id)
        .values_list("version", flat=True)
        .first()
    )
    return current is not None and base_version < current

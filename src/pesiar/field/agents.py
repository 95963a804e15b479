"""The agents' villages and worklists, inside the user's region scope."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from pesiar.accounts.models import User
from pesiar.accounts.scoping import get_scope
from pesiar.field.submissions import NotFound
from pesiar.regions.codes import is_within, level, within_q
from pesiar.regions.models import Level
from pesiar.sweep.models import WorklistItem


def agent_villages(user: User) -> list[str]:
    """The village codes of an agent (their scopes), sorted."""
    return sorted(code for code in get_scope(user).codes if level(code) == Level.VILLAGE)


def worklist_families(user: User, *, village: str = "", state: str = "") -> QuerySet:
    """The user's worklist families, highest priority first."""
    items = WorklistItem.objects.for_user(user).select_related("village")
    if village:
        items = items.filter(within_q(village, "village__pk"))
    if state:
        items = items.filter(state=state)
    return items.order_by("-priority", "kk")


def overlaps_scope(user: User, code: str) -> bool:
    """True when region `code` lies inside the user's scope or holds part of it (an agent's
    district holds their villages)."""
    scope = get_scope(user)
    return scope.contains(code) or any(is_within(c, code) for c in scope.codes)


def get_item(user: User, item_id: int) -> WorklistItem:
    item = WorklistItem.objects.for_user(user).filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("no worklist family %(id)s in your villages") % {"id": item_id})
    return item

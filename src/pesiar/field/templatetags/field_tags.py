"""Template helpers for the sweep's family page: the family's visits and registrations."""

from typing import Any

from django import template

from pesiar.accounts.policy import can_see_personal
from pesiar.field.models import RegistrationRequest, Visit

register = template.Library()


@register.simple_tag(takes_context=True)
def family_visits(context: dict[str, Any], item: Any) -> list[Visit]:
    """The visits of worklist item `item` the request's user may see, latest first."""
    user = context["request"].user
    if not can_see_personal(user):
        return []
    return list(Visit.objects.for_user(user).filter(item=item).select_related("agent"))


@register.simple_tag(takes_context=True)
def family_registrations(context: dict[str, Any], item: Any) -> list[RegistrationRequest]:
    """The registration requests made for worklist item `item`, latest first."""
    user = context["request"].user
    if not can_see_personal(user):
        return []
    return list(RegistrationRequest.objects.for_user(user).filter(item=item))

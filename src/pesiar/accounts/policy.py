"""Personal-data policy: which roles see personal rows, and which see NIK and KK in full.

What a user may see:

- `can_see_personal(user)` / `require_personal_access(user)`: personal rows at all
  (everyone but viewers, who see aggregates only).
- `can_see_full_identifiers(user)`: NIK and KK in full (agents, BPJS branch officers and
  Dukcapil officers); everyone else sees them masked. `can_reveal(user)`: may ask for one
  full value on demand (those, plus the national administrator). How a value is shown, and
  logged, is decided in one place: `pesiar.accounts.viewer.Viewer`.
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from pesiar.accounts.models import Office, Role

PERSONAL_ROLES = frozenset({Role.ADMIN, Role.PROVINCE, Role.REGENCY, Role.BRANCH, Role.AGENT})
# Agents register families and BPJS branch officers enrol them: both work with the real NIK and
# KK. Dukcapil owns the population register the NIK comes from.
FULL_IDENTIFIER_ROLES = frozenset({Role.AGENT, Role.BRANCH})
FULL_IDENTIFIER_OFFICES = frozenset({Office.DUKCAPIL})
# The national administrator sees masked values but may reveal one on demand (logged).
REVEAL_ROLES = frozenset({Role.ADMIN})


def require_user(user: Any) -> None:
    if user is None or not hasattr(user, "is_authenticated"):
        raise TypeError("a user is required to decide what may be seen")
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied("log in to see this")


def can_see_personal(user: Any) -> bool:
    """True when the user may see personal rows (names, NIK, addresses) within their scope."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.role in PERSONAL_ROLES
    )


def require_personal_access(user: Any) -> None:
    """Raise PermissionDenied (HTTP 403 in views) unless the user may see personal rows."""
    require_user(user)
    if not can_see_personal(user):
        raise PermissionDenied("this role sees aggregates only, not personal rows")


def can_see_full_identifiers(user: Any) -> bool:
    """True when NIK and KK are shown in full to this user (each showing is logged)."""
    return can_see_personal(user) and (
        user.role in FULL_IDENTIFIER_ROLES
        or (user.role in (Role.PROVINCE, Role.REGENCY) and user.office in FULL_IDENTIFIER_OFFICES)
    )


def can_reveal(user: Any) -> bool:
    """True when the user may ask for one full NIK/KK on demand (each reveal is logged)."""
    return can_see_full_identifiers(user) or (can_see_personal(user) and user.role in REVEAL_ROLES)

"""Creating users with a role and region scopes (used by `pesiar createuser` and the demo)."""

from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from pesiar.accounts.models import ROLES_WITH_OFFICE, Office, Role, Scope, User, scope_level_error
from pesiar.accounts.scoping import forget_scope
from pesiar.regions.models import Region
from pesiar.regions.services import normalise_code


class AccountError(ValueError):
    """A user that cannot be created as asked; the message says why."""


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        known = ", ".join(Role.values)
        raise AccountError(f"unknown role {text!r}; the roles are: {known}") from None


def parse_office(text: str | None, role: Role) -> str:
    if not text:
        return ""
    try:
        office = Office(text.strip().lower())
    except ValueError:
        known = ", ".join(Office.values)
        raise AccountError(f"unknown office {text!r}; the offices are: {known}") from None
    if role not in ROLES_WITH_OFFICE:
        raise AccountError(f"only province and regency officers have an office, not {role}")
    return office


def scope_regions(role: Role | str, codes: Iterable[str]) -> list[Region]:
    """The Region rows for `codes`, checked against what the role may be given."""
    role = Role(role)
    codes = list(codes)
    if role == Role.ADMIN:
        if codes:
            raise AccountError("a national administrator sees the whole country: give no --scope")
        return []
    if not codes:
        raise AccountError(f"a {role.label.lower()} needs at least one region scope (--scope)")
    regions = []
    for text in codes:
        code = normalise_code(text)
        if code is None:
            raise AccountError(
                f"{text!r} is not a region code (PP, PP.RR, PP.RR.DD or PP.RR.DD.VVVV)"
            )
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise AccountError(
                f"region {code} is not loaded (see `pesiar regions load`) or does not exist"
            )
        error = scope_level_error(role, region)
        if error:
            raise AccountError(error)
        regions.append(region)
    return regions


def set_scopes(user: User, regions: Iterable[Region]) -> None:
    """Replace the user's scopes with `regions`."""
    regions = list(regions)
    with transaction.atomic():
        Scope.objects.filter(user=user).exclude(region__in=regions).delete()
        have = set(Scope.objects.filter(user=user).values_list("region_id", flat=True))
        for region in regions:
            if region.code not in have:
                Scope.objects.create(user=user, region=region)
    forget_scope(user)


def create_user(
    username: str,
    *,
    role: Role | str,
    scopes: Iterable[str] = (),
    password: str,
    office: str | None = None,
    email: str = "",
    check_password: bool = True,
) -> User:
    """A new user with role, office and scopes; AccountError when anything is wrong."""
    role = parse_role(str(role))
    office_value = parse_office(office, role)
    regions = scope_regions(role, scopes)
    if not username or User.objects.filter(username=username).exists():
        raise AccountError(f"user {username!r} already exists" if username else "no username")
    user = User(username=username, email=email, role=role, office=office_value)
    if check_password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise AccountError("password: " + " ".join(exc.messages)) from exc
    with transaction.atomic():
        user.set_password(password)
        user.save()
        set_scopes(user, regions)
    return user


def ensure_user(
    username: str,
    *,
    role: Role | str,
    scopes: Iterable[str] = (),
    password: str,
    office: str | None = None,
) -> User:
    """Create or reset a user to exactly this role, office, scopes and password (demo)."""
    role = parse_role(str(role))
    office_value = parse_office(office, role)
    regions = scope_regions(role, scopes)
    with transaction.atomic():
        user, _created = User.objects.get_or_create(username=username)
        user.role = role
        user.office = office_value
        user.is_active = True
        user.set_password(password)
        user.save()
        set_scopes(user, regions)
    return user

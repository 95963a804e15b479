"""Users, their role and region scopes, and the append-only log of personal-data access.

The role is the single source of truth for what a user may do: it decides which regions they
see (together with their scopes), whether they see personal rows, and whether NIK/KK are shown
in full or masked. The rules themselves live in `pesiar.accounts.scoping`.
"""

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pesiar.regions.models import Level, Region


class Role(models.TextChoices):
    ADMIN = "admin", _("National administrator")
    PROVINCE = "province", _("Province officer")
    REGENCY = "regency", _("Regency officer (Pemda)")
    BRANCH = "branch", _("BPJS branch officer")
    AGENT = "agent", _("Village agent (Agen Pesiar)")
    VIEWER = "viewer", _("Viewer (aggregates only)")


class Office(models.TextChoices):
    """The Pemda office a province or regency officer works for."""

    DINKES = "dinkes", _("Dinkes (health office)")
    DINSOS = "dinsos", _("Dinsos (social affairs office)")
    DUKCAPIL = "dukcapil", _("Dukcapil (civil registration office)")
    BAPPEDA = "bappeda", _("Bappeda (planning agency)")
    PMD = "pmd", _("PMD (village community empowerment office)")
    SEKDA = "sekda", _("Sekda (regional secretariat)")


# Which region levels a role's scopes may name. The national administrator is national and
# takes no scopes; a viewer may be given any level.
ROLE_SCOPE_LEVELS: dict[str, frozenset[int]] = {
    Role.ADMIN: frozenset(),
    Role.PROVINCE: frozenset({Level.PROVINCE}),
    Role.REGENCY: frozenset({Level.REGENCY}),
    Role.BRANCH: frozenset({Level.REGENCY}),
    Role.AGENT: frozenset({Level.VILLAGE}),
    Role.VIEWER: frozenset(Level),
}
ROLES_WITH_OFFICE = frozenset({Role.PROVINCE, Role.REGENCY})


def scope_level_error(role: str, region: Region) -> str | None:
    """Why `region` cannot be a scope of a user with `role`, or None when it can."""
    allowed = ROLE_SCOPE_LEVELS[role]
    if region.level in allowed:
        return None
    if not allowed:
        return str(_("A national administrator sees the whole country and takes no scope."))
    names = ", ".join(str(Level(level).label).lower() for level in sorted(allowed))
    return str(
        _("%(role)s scopes must be: %(levels)s; %(region)s is a %(level)s.")
        % {
            "role": Role(role).label,
            "levels": names,
            "region": region,
            "level": str(Level(region.level).label).lower(),
        }
    )


class UserManager(BaseUserManager):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> "User":
        extra.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    """A Pesiar user. `role` decides staff/superuser status: only national administrators
    reach the admin site, everyone else works inside their region scopes."""

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    office = models.CharField(
        _("office"),
        max_length=16,
        choices=Office.choices,
        blank=True,
        help_text=_("For province and regency officers: the Pemda office they work for."),
    )

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def save(self, *args: Any, **kwargs: Any) -> None:
        national = self.role == Role.ADMIN
        self.is_staff = national
        self.is_superuser = national
        if self.role not in ROLES_WITH_OFFICE:
            self.office = ""
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if self.office and self.role not in ROLES_WITH_OFFICE:
            raise ValidationError(
                {"office": _("Only province and regency officers belong to a Pemda office.")}
            )


class Scope(models.Model):
    """One region a user is responsible for; a user sees that region and everything under it."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="scopes", verbose_name=_("user")
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region")
    )

    # Region-keyed, but it is the scope configuration itself (admin only), not data to scope.
    scope_exempt = "user scope configuration; only national administrators see it"

    class Meta:
        ordering = ["user", "region"]
        verbose_name = _("region scope")
        verbose_name_plural = _("region scopes")
        constraints = [
            models.UniqueConstraint(fields=["user", "region"], name="accounts_scope_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.region_id}"

    def clean(self) -> None:
        super().clean()
        try:
            user, region = self.user, self.region
        except (User.DoesNotExist, Region.DoesNotExist):
            return  # the form reports the missing field
        error = scope_level_error(user.role, region)
        if error:
            raise ValidationError({"region": error})


class AccessKind(models.TextChoices):
    PAGE = "page", _("page")
    EXPORT = "export", _("export")
    API = "api", _("API")
    REVEAL = "reveal", _("reveal of a full NIK/KK")


class AppendOnlyError(RuntimeError):
    """The access log is append-only: entries are never changed or deleted."""


class AccessLogQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("access log entries cannot be changed")

    def _update(self, values: Any) -> int:
        raise AppendOnlyError("access log entries cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("access log entries cannot be deleted")

    def _raw_delete(self, using: Any) -> int:
        raise AppendOnlyError("access log entries cannot be deleted")


class AccessLog(models.Model):
    """Who read personal data, when, through what, within which scope, and how many rows.

    Written only through `pesiar.accounts.audit.log_access`; append-only.
    """

    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    username = models.CharField(_("username"), max_length=150)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=AccessKind.choices)
    name = models.CharField(
        _("what"), max_length=300, help_text=_("Page path, export or API name.")
    )
    scope = models.CharField(
        _("scope"),
        max_length=1000,
        help_text=_("The user's region scopes at the time; * is national."),
    )
    region_code = models.CharField(
        _("region"), max_length=13, blank=True, help_text=_("The region asked for, if one.")
    )
    rows = models.PositiveIntegerField(_("rows"))
    full_identifiers = models.BooleanField(_("full NIK/KK shown"), default=False)

    objects = AccessLogQuerySet.as_manager()

    scope_exempt = "the audit trail itself; only national administrators read it"

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data access log")
        default_permissions = ("view",)
        indexes = [models.Index(fields=["user", "at"], name="accounts_accesslog_user_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.kind} {self.name} ({self.rows})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("access log entries cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("access log entries cannot be deleted")

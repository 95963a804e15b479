from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from pesiar.accounts.forms import UserChangeForm, UserCreationForm
from pesiar.accounts.models import AccessLog, Scope, User
from pesiar.accounts.scoping import forget_scope
from pesiar.regions.admin import ReadOnlyAdminMixin


class ScopedAdminMixin:
    """For the admin of a region-keyed model: rows within the admin user's scope only."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).for_user(request.user)


class ScopeInline(admin.TabularInline):
    model = Scope
    extra = 1
    autocomplete_fields = ["region"]
    verbose_name = _("region scope")
    verbose_name_plural = _(
        "Region scopes: a province for province officers, regencies for regency and BPJS "
        "branch officers, villages for agents, any level for viewers; none for national "
        "administrators"
    )


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    inlines = [ScopeInline]
    list_display = ["username", "full_name", "role", "office", "scope_codes", "is_active"]
    list_filter = ["role", "office", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email", "scopes__region__code"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Role"), {"fields": ["role", "office"]}),
        (_("Personal info"), {"fields": ["first_name", "last_name", "email"]}),
        (_("Status"), {"fields": ["is_active", "last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "role", "office", "password1", "password2"],
            },
        ),
    ]
    readonly_fields = ["last_login", "date_joined"]

    @admin.display(description=_("name"))
    def full_name(self, user: User) -> str:
        return user.get_full_name()

    @admin.display(description=_("scope"))
    def scope_codes(self, user: User) -> str:
        codes = [scope.region_id for scope in user.scopes.all()]
        return _("national") if user.role == "admin" else " ".join(codes) or "—"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("scopes")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        forget_scope(form.instance)


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only, for national administrators (superusers) only."""

    list_display = ["at", "username", "kind", "name", "scope", "region_code", "rows"]
    list_filter = ["kind", "full_identifiers", "at"]
    search_fields = ["username", "name", "region_code"]
    date_hierarchy = "at"
    ordering = ["-at", "-id"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

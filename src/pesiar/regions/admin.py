from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from pesiar.regions.models import Region


class ReadOnlyAdminMixin:
    """Nothing is added, changed or deleted through the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Region)
class RegionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the tree comes from `pesiar regions load`. Registered for the region
    autocomplete in the user admin (83,000 villages do not fit a drop-down)."""

    list_display = ["code", "name", "level"]
    list_filter = ["level"]
    search_fields = ["^code", "name"]

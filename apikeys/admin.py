from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from apikeys.models import ApiKey, Role, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("Elasticsearch", {"fields": ("full_name", "role_names", "metadata")}),
    )
    filter_horizontal = ("groups", "user_permissions")
    list_display = ("username", "full_name", "email", "is_active", "is_superuser")


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Read-only: keys change only through the services (so the cache and audit stay right)."""

    list_display = ("name", "id", "username", "creation", "expiration", "invalidated")
    list_filter = ("invalidated", "managed")
    search_fields = ("name", "id", "username")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.core.exceptions import ValidationError

from apikeys.models import ApiKey, Role, User


class NativeUserCreationForm(AdminUserCreationForm):
    """The admin adds native users: a name is taken only by another native user (an identity provider's `alice` is
    not the native `alice`), ignoring case as Django's own form does."""

    def clean_username(self) -> str | None:
        username = self.cleaned_data.get("username")
        if username and self._meta.model.objects.filter(username__iexact=username, external_realm="").exists():
            self._update_errors(ValidationError({"username": "A user with that username already exists."}))
            return None
        return username


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    add_form = NativeUserCreationForm
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

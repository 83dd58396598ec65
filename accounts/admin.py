"""Admin of people and markets (memberships, tied to their client account, are
registered by `payments.admin`)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Market, OutgoingEmail, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff"]
    search_fields = ["email", "first_name__unaccent", "last_name__unaccent"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Identité"), {"fields": ("first_name", "last_name")}),
        (_("Droits"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "payments_enabled", "cagnotte_mode", "allow_negative_balances"]
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ["name__unaccent"]


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """The outbox, read only: what was sent, what waits, what could not be sent and why."""

    list_display = ["to", "subject", "status", "attempts", "created_at", "sent_at", "error"]
    list_filter = ["status", "market"]
    search_fields = ["to", "subject", "about"]
    date_hierarchy = "created_at"
    list_select_related = ["market"]

    @admin.display(description=_("dernière erreur"))
    def error(self, email: OutgoingEmail) -> str:
        return email.last_error[:120]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""Admin of people and markets (memberships, tied to their client account, are
registered by `payments.admin`)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Market, User


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

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Market, Membership, User


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


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "market", "role", "joined_at"]
    list_filter = ["market", "role"]
    search_fields = ["user__email", "user__first_name__unaccent", "user__last_name__unaccent"]
    autocomplete_fields = ["user", "market"]

    def get_readonly_fields(self, request, obj=None):
        """Who and where are fixed once the membership exists.

        Its client account, and every posting on it, belong to that market:
        moving the membership would leave the account behind, and the ledger
        would refuse every later posting for mixing two markets' books.
        """
        if obj is not None:
            return ["user", "market"]
        return []

    def save_model(self, request, obj, form, change):
        # A new member gets their client account, as everywhere else.
        from payments.ledger import client_account

        super().save_model(request, obj, form, change)
        client_account(obj)

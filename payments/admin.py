"""The ledger in the Django admin: read-only, like everywhere else.

Entries and transactions are append-only (the database refuses changes);
corrections go through a reversal from the client's history page. Memberships
are registered here too: each one is created with its client account.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership

from .ledger import client_account, with_balance
from .models import (
    Account,
    Entry,
    Export,
    LedgerCheckRun,
    Payment,
    RejectedStripeEvent,
    StripeEvent,
    Transaction,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ["account", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["name", "market", "kind", "cached_balance"]
    list_filter = ["market", "kind"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return with_balance(super().get_queryset(request))

    @admin.display(description=_("solde"), ordering="cached_balance")
    def cached_balance(self, account):
        return account.cached_balance


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "date", "market", "kind", "label", "created_by", "created_at"]
    list_filter = ["market", "kind"]
    search_fields = ["label", "idempotency_key"]
    inlines = [EntryInline]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "market", "membership", "method", "amount", "status", "paid_on"]
    list_filter = ["market", "method", "status"]
    search_fields = ["reference", "cheque_number"]


@admin.register(RejectedStripeEvent)
class RejectedStripeEventAdmin(ReadOnlyAdmin):
    """Signed webhook events refused as malformed: read, then deleted once looked into."""

    list_display = ["received_at", "event_id", "type", "reason", "deliveries"]
    list_filter = ["type"]
    search_fields = ["event_id", "reason"]
    readonly_fields = [f.name for f in RejectedStripeEvent._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    """Webhook events as received, and whether their job applied them."""

    list_display = ["received_at", "event_id", "type", "object_id", "applied_at", "attempts"]
    list_filter = ["type", ("applied_at", admin.EmptyFieldListFilter)]
    search_fields = ["event_id", "object_id"]
    readonly_fields = [f.name for f in StripeEvent._meta.fields]


@admin.register(LedgerCheckRun)
class LedgerCheckRunAdmin(ReadOnlyAdmin):
    """The nightly audits of the books: what drifted, and when."""

    list_display = ["started_at", "finished_at", "ok", "problem_count"]
    list_filter = ["ok"]
    readonly_fields = [f.name for f in LedgerCheckRun._meta.fields]


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
        super().save_model(request, obj, form, change)
        client_account(obj)


@admin.register(Export)
class ExportAdmin(ReadOnlyAdmin):
    """PDF exports and their jobs' outcome: an export that failed says why here."""

    list_display = ["id", "kind", "market", "requested_by", "status", "progress", "created_at"]
    list_filter = ["status", "kind", "market"]
    readonly_fields = [f.name for f in Export._meta.fields]

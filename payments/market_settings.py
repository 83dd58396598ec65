"""« Paramètres › Moyens de paiement »: saving a market's payment settings.

Every change is recorded as `MarketSettingsChange` rows (who, when, before,
after) in the database transaction that makes it. Saving the values the
market already has writes nothing and records nothing, so a double submit or
a resent form is harmless.

The checkout, the distribution pages and the emails read the `Market` fields
directly; this module only changes them.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Market, MarketSettingsChange, User

from .methods import CAGNOTTE, OFFERABLE, OFFERABLE_CHOICES, ON_SITE_METHODS, PaymentMethod
from .models import Payment, PaymentStatus

# The settings on the page, in the order they are shown (Market field names).
SETTINGS_FIELDS = (
    "payments_enabled",
    "payment_methods",
    "iban",
    "bic",
    "account_holder",
    "transfer_reminders_auto",
    "transfer_reminders_days_before",
    "transfer_reminders_hour",
    "cheque_payee",
    "stripe_commission_percent",
    "cagnotte_mode",
    "allow_negative_balances",
)
BOOLEAN_FIELDS = (
    "payments_enabled",
    "cagnotte_mode",
    "allow_negative_balances",
    "transfer_reminders_auto",
)
SETTINGS_LOG_PAGE_SIZE = 50


@dataclass(frozen=True)
class SettingsSaved:
    """What a save did: the settings it changed, the pending payments it kept."""

    changed: list[str] = field(default_factory=list)
    # (payment method, number of its payments still pending), for the methods
    # just unticked, or for every method when payment management was switched off.
    pending_kept: list[tuple[str, int]] = field(default_factory=list)


STRIPE_SETTINGS = ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")


def stripe_keys_configured() -> bool:
    """Whether the platform can take card payments online: both Stripe keys and
    the webhook's signing secret are set. Without the secret every webhook is
    refused, and payments would be settled only late, by reconciliation."""
    return all(getattr(settings, name, "") for name in STRIPE_SETTINGS)


def methods_ordered(codes: Iterable[str] | None) -> list[str]:
    """Method codes in display order, each once; codes no market can offer are dropped."""
    wanted = {str(code) for code in codes or []}
    return [str(m) for m in OFFERABLE if str(m) in wanted]


def _current(market: Market, name: str):
    value = getattr(market, name)
    return methods_ordered(value) if name == "payment_methods" else value


def _as_text(value) -> str:
    """The canonical text a value is logged as."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, Decimal | int):
        return str(value)
    return value or ""


def _differences(market: Market, values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    wanted = {name: values[name] for name in SETTINGS_FIELDS if name in values}
    if "payment_methods" in wanted:
        wanted["payment_methods"] = methods_ordered(wanted["payment_methods"])
    return {
        name: (_current(market, name), new)
        for name, new in wanted.items()
        if _current(market, name) != new
    }


def _removed_methods(old: list[str], new: list[str]) -> list[str]:
    """Payment methods no longer offered (paying from the balance is no payment)."""
    removed = [m for m in old if m not in new and m != CAGNOTTE]
    if any(m in ON_SITE_METHODS for m in old) and not any(m in ON_SITE_METHODS for m in new):
        # "Sur place (à préciser)" payments can no longer be settled at pickup.
        removed.append(str(PaymentMethod.ON_SITE))
    return removed


def _pending_counts(market: Market, methods: list[str]) -> list[tuple[str, int]]:
    rows = (
        Payment.objects.filter(market=market, status=PaymentStatus.PENDING, method__in=methods)
        .values("method")
        .annotate(count=Count("pk"))
    )
    counts = {row["method"]: row["count"] for row in rows}
    return [(method, counts[method]) for method in methods if counts.get(method)]


def payment_settings_update(
    *, market: Market, changed_by: User, values: Mapping[str, Any]
) -> SettingsSaved:
    """Save the market's payment settings and record each change.

    Unticking a method, or switching payment management off, never touches
    payments: those still pending stay expected, and their count is returned
    so the admin can be told.
    """
    with transaction.atomic():
        # Under the lock, two admins saving at once each log against what is stored.
        locked = Market.objects.select_for_update().get(pk=market.pk)
        differences = _differences(locked, values)
        if not differences:
            return SettingsSaved()
        for name, (_old, new) in differences.items():
            setattr(locked, name, new)
            setattr(market, name, new)
        locked.save(update_fields=list(differences))
        _record_changes(locked, changed_by, differences)
        pending = _pending_counts(locked, _methods_left_pending(differences))
    return SettingsSaved(changed=list(differences), pending_kept=pending)


def _methods_left_pending(differences) -> list[str]:
    """The methods whose pending payments the admin should hear about."""
    if differences.get("payments_enabled", (None, None))[1] is False:
        return [*(str(m) for m in OFFERABLE if m != CAGNOTTE), str(PaymentMethod.ON_SITE)]
    old, new = differences.get("payment_methods", ([], []))
    return _removed_methods(old, new)


def _record_changes(market: Market, changed_by: User, differences) -> None:
    now = timezone.now()
    MarketSettingsChange.objects.bulk_create(
        MarketSettingsChange(
            market=market,
            changed_by=changed_by,
            changed_at=now,
            field=name,
            old_value=_as_text(old),
            new_value=_as_text(new),
        )
        for name, (old, new) in differences.items()
    )


# -- Reading the log --------------------------------------------------------------


def settings_changes(market: Market):
    """The market's settings changes, newest first."""
    return MarketSettingsChange.objects.filter(market=market).select_related("changed_by")


def setting_label(name: str) -> str:
    try:
        return capfirst(Market._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a setting logged by an older version of the page
        return name


def mask_iban(text: str) -> str:
    """Only the last 4 characters: enough to tell two accounts apart."""
    return f"•••• {text[-4:]}" if text else "—"


def setting_value_display(name: str, text: str) -> str:
    """A logged value in words, in the reader's language."""
    if name in BOOLEAN_FIELDS:
        return _("Oui") if text == "true" else _("Non")
    if name == "payment_methods":
        labels = dict(OFFERABLE_CHOICES)
        codes = [code for code in text.split(",") if code]
        return ", ".join(str(labels.get(code, code)) for code in codes) or _("aucun")
    if name == "iban":
        return mask_iban(text)
    if name == "transfer_reminders_days_before" and text.isdigit():
        days = int(text)
        return ngettext("%(days)s jour avant", "%(days)s jours avant", days) % {"days": days}
    if name == "transfer_reminders_hour" and text:
        return f"{text}\u00a0h"
    if name == "stripe_commission_percent":
        return f"{text.replace('.', ',')} %" if text else "—"
    return text or "—"

"""« Paramètres › Moyens de paiement »: the methods a market offers, its bank details."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.access import admin_view

from ..market_settings import (
    SETTINGS_LOG_PAGE_SIZE,
    SettingsSaved,
    payment_settings_update,
    setting_label,
    setting_value_display,
    settings_changes,
    stripe_keys_configured,
)
from ..methods import PaymentMethod
from ..settings_forms import PaymentSettingsForm

# How each method reads after "3 paiements …".
PAID_HOW = {
    PaymentMethod.CHEQUE: gettext_lazy("par chèque"),
    PaymentMethod.CASH: gettext_lazy("en espèces"),
    PaymentMethod.TRANSFER: gettext_lazy("par virement"),
    PaymentMethod.CARD_TERMINAL: gettext_lazy("par carte bancaire sur place"),
    PaymentMethod.ONLINE_CARD: gettext_lazy("par carte bancaire en ligne"),
    PaymentMethod.ON_SITE: gettext_lazy("« sur place »"),
}


@admin_view
def payment_settings(request):
    form = PaymentSettingsForm(
        request.POST if request.method == "POST" else None,
        market=request.market,
        online_card_available=stripe_keys_configured(),
    )
    if form.is_bound and form.is_valid():
        saved = payment_settings_update(
            market=request.market, changed_by=request.user, values=form.cleaned_data
        )
        _report(request, saved)
        return redirect("payment_settings", request.market.slug)
    status = 400 if form.is_bound else 200
    return render(request, "payments/settings.html", _context(request, form), status=status)


def _context(request, form) -> dict:
    changes = settings_changes(request.market)
    page = Paginator(changes, SETTINGS_LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "change": change,
            "label": setting_label(change.field),
            "old": setting_value_display(change.field, change.old_value),
            "new": setting_value_display(change.field, change.new_value),
        }
        for change in page
    ]
    return {"form": form, "page": page, "rows": rows}


def _report(request, saved: SettingsSaved) -> None:
    if not saved.changed:
        messages.info(request, _("Aucune modification : ces paramètres étaient déjà enregistrés."))
        return
    messages.success(request, _("Moyens de paiement enregistrés."))
    for method, count in saved.pending_kept:
        messages.warning(request, _pending_sentence(method, count))


def _pending_sentence(method: str, count: int) -> str:
    return ngettext(
        "%(count)s paiement %(how)s reste attendu : il est conservé.",
        "%(count)s paiements %(how)s restent attendus : ils sont conservés.",
        count,
    ) % {"count": count, "how": PAID_HOW.get(method, method)}

"""Admin: the orders of a distribution, and changing one after the fact."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.access import admin_view
from accounts.outbox import emails_about
from payments.ledger import client_account

from ..adjust_forms import OrderAdjustForm
from ..checkout.adjusting import order_adjust
from ..checkout.errors import CheckoutError
from ..models import Order


def _get_order_for_admin(request, pk) -> Order:
    return get_object_or_404(
        Order.objects.select_related("distribution", "membership__user", "market"),
        pk=pk,
        market=request.market,
    )


@admin_view
def order_edit(request, order_id):
    order = _get_order_for_admin(request, order_id)
    # A validated basket is still corrected here: the change is a new entry
    # with its reason in the client's history, never a rewrite.
    validated = order.is_validated or order.distribution.is_validated
    form = OrderAdjustForm(request.POST or None, order=order)
    if request.method == "POST" and form.is_valid():
        try:
            txn = order_adjust(
                order=order,
                wanted=form.cleaned_data["wanted"],
                reason=form.cleaned_data["reason"],
                adjusted_by=request.user,
                token=form.cleaned_data["form_token"],
            )
        except CheckoutError as error:
            form.add_error(None, error.message)
        else:
            if txn is None:
                messages.info(request, _("Rien n'a changé dans la commande."))
            else:
                messages.success(request, _("Commande modifiée ; l'ajustement est enregistré."))
            return redirect("order_edit", request.market.slug, order.pk)
    context = {
        "order": order,
        "form": form,
        "validated": validated,
        "held": client_account(order.membership).held,
        "adjustments": order.transactions.select_related("created_by").order_by("-pk"),
    }
    context["last_email"], context["emails_not_sent"] = emails_about(f"order:{order.pk}")
    status = 400 if request.method == "POST" else 200
    return render(request, "orders/manage/order_edit.html", context, status=status)

"""The client's shop for one distribution: the distributions open for orders,
the basket, its review and the choice of payment that records the order.

These are pages of a distribution; what they record is the orders app's
(`orders.checkout`), and the templates stay with the orders' (`orders/…`).
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.access import member_view
from cagette.money import ZERO
from orders.checkout.changes import basket_check
from orders.checkout.choices import asks_for_payment, checkout_choices, online_card_minimum_note
from orders.checkout.errors import CheckoutError
from orders.checkout.lines import basket_priced, basket_read, basket_total
from orders.checkout.recording import order_checkout
from orders.checkout.session import basket_clear, basket_get, basket_put, quantities_of
from orders.checkout_forms import PaymentChoiceForm
from orders.models import Order, Product
from orders.paying.online import pay_order_online
from payments.ledger import client_account
from payments.methods import CAGNOTTE, PaymentMethod

from .models import Distribution

QUANTITY_PREFIX = "qty-"


def _get_distribution_for_member(request, distribution_id) -> Distribution:
    return get_object_or_404(Distribution, pk=distribution_id, market=request.market)


def _my_order(request, distribution) -> Order | None:
    return (
        Order.objects.filter(distribution=distribution, membership=request.membership)
        .prefetch_related("lines")
        .first()
    )


def _wanted(request, distribution, order) -> dict[str, str]:
    """The basket in the session, else the recorded order (an emptied basket stays empty)."""
    quantities = basket_get(request.session, distribution.pk)
    return quantities_of(order) if quantities is None else quantities


def _basket_lines(request, distribution, order):
    """The basket at the prices checkout will record; re-checked every time."""
    lines = basket_read(request.market, _wanted(request, distribution, order))
    return basket_priced(order, lines)


@member_view
def distribution_list(request):
    distributions = Distribution.objects.filter(market=request.market).accepting_orders()
    orders = {
        o.distribution_id: o
        for o in Order.objects.filter(membership=request.membership, distribution__in=distributions)
    }
    rows = [(d, orders.get(d.pk)) for d in distributions.order_by("date")]
    return render(request, "orders/distribution_list.html", {"rows": rows})


@member_view
def distribution_shop(request, distribution_id):
    distribution = _get_distribution_for_member(request, distribution_id)
    order = _my_order(request, distribution)
    error = None
    if request.method == "POST" and distribution.is_open_for_orders():
        quantities = {
            key.removeprefix(QUANTITY_PREFIX): value
            for key, value in request.POST.items()
            if key.startswith(QUANTITY_PREFIX)
        }
        try:
            lines = basket_read(request.market, quantities)
            if not lines and order is None:
                raise CheckoutError(_("Votre panier est vide : indiquez au moins une quantité."))
            basket_check(market=request.market, order=order, lines=lines)
            basket_put(request.session, distribution.pk, lines)
            return redirect("basket_review", request.market.slug, distribution.pk)
        except CheckoutError as exc:
            error = exc.message
    products = (
        Product.objects.available()
        .filter(market=request.market)
        .select_related("producer")
        .order_by("producer__name", "name")
    )
    wanted = _wanted(request, distribution, order)
    if error:
        wanted = {k.removeprefix(QUANTITY_PREFIX): v for k, v in request.POST.items()}
    ordered = quantities_of(order)
    rows = [(p, wanted.get(str(p.pk), ""), ordered.get(str(p.pk))) for p in products]
    context = {
        "distribution": distribution,
        "order": order,
        "rows": rows,
        "error": error,
        "locked": order is not None and request.market.payments_enabled,
        "asks_for_payment": asks_for_payment(request.market),  # names the third step
    }
    return render(request, "orders/shop.html", context, status=400 if error else 200)


def _review_context(request, distribution):
    order = _my_order(request, distribution)
    lines = _basket_lines(request, distribution, order)
    total = basket_total(lines)
    already = order.total if order else 0
    return {
        "distribution": distribution,
        "order": order,
        "lines": lines,
        "total": total,
        "to_pay": total - already,
        # A smaller basket (payments not managed) lowers what the account owes.
        "to_deduct": max(already - total, ZERO),
        "held": client_account(request.membership).held,
        "unchanged": _unchanged(order, lines),
        # In cagnotte mode (or where payments are not managed) nobody chooses a payment.
        "asks_for_payment": asks_for_payment(request.market),
    }


def _unchanged(order, lines) -> bool:
    """The basket is exactly what was ordered: nothing to record, nothing to pay."""
    if order is None:
        return False
    ordered = {line.product_id: line.quantity for line in order.lines.all()}
    return ordered == {line.product.pk: line.quantity for line in lines}


def _nothing_to_check_out(distribution, context) -> bool:
    # Once orders are closed the shop page says so, and nothing can be recorded.
    if not distribution.is_open_for_orders():
        return True
    return not context["lines"] and context["order"] is None


def _checkout_context(request, distribution):
    """The review's context, or the redirect to the shop when there is nothing to check out
    (orders closed, an empty basket, a basket checkout would refuse)."""
    shop = redirect("distribution_shop", request.market.slug, distribution.pk)
    try:
        context = _review_context(request, distribution)
    except CheckoutError as exc:
        messages.error(request, exc.message)
        return None, shop
    return context, shop if _nothing_to_check_out(distribution, context) else None


@member_view
def basket_review(request, distribution_id):
    distribution = _get_distribution_for_member(request, distribution_id)
    context, back_to_shop = _checkout_context(request, distribution)
    if back_to_shop:
        return back_to_shop
    return render(request, "orders/review.html", context)


@member_view
def checkout_payment(request, distribution_id):
    distribution = _get_distribution_for_member(request, distribution_id)
    context, back_to_shop = _checkout_context(request, distribution)
    if back_to_shop:
        return back_to_shop
    if context["unchanged"]:
        # Back from the order page, or the form sent again: the order stands as it is.
        messages.info(request, _("Rien n'a changé depuis votre commande."))
        return redirect("order_detail", request.market.slug, context["order"].pk)
    choices = checkout_choices(request.market, context["to_pay"])
    note = online_card_minimum_note(request.market, context["to_pay"])
    form = PaymentChoiceForm(request.POST or None, choices=choices, note=note)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            order = order_checkout(
                membership=request.membership,
                distribution=distribution,
                lines=context["lines"],
                choice=form.cleaned_data.get("choice", ""),
                token=form.cleaned_data["form_token"],
            )
        except CheckoutError as exc:
            error = exc.message
        else:
            basket_clear(request.session, distribution.pk)
            messages.success(request, _("Votre commande est enregistrée."))
            if form.cleaned_data.get("choice") == PaymentMethod.ONLINE_CARD:
                return pay_order_online(request, order)
            return redirect("order_detail", request.market.slug, order.pk)
    context.update(
        {
            "form": form,
            "error": error,
            "cagnotte_offered": CAGNOTTE in choices,
        }
    )
    status = 400 if request.method == "POST" else 200
    return render(request, "orders/payment.html", context, status=status)

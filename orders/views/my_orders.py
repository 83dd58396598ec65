"""The client's orders: « Mes commandes », and one order with its payments and what is
still to pay (the shop that records them is `distributions.shop`)."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render

from accounts.access import member_view
from payments.ledger import client_account
from payments.models import Payment
from payments.stripe.checkout import online_rows

from ..models import Order
from ..money import with_money
from ..paying.summary import attach_payments, still_expected


def _get_order_for_member(request, order_id) -> Order:
    return get_object_or_404(
        Order.objects.select_related("distribution", "market"),
        pk=order_id,
        membership=request.membership,
    )


def _order_payments():
    return Payment.objects.select_related("rechoice").order_by("created_at", "pk")


@member_view
def my_orders(request):
    orders = with_money(
        Order.objects.filter(membership=request.membership).select_related("distribution")
    ).prefetch_related(Prefetch("payments", queryset=_order_payments()))
    orders = attach_payments(orders.order_by("-distribution__date", "-pk"))
    context = {"orders": orders}
    return render(request, "orders/my_orders.html", context)


@member_view
def order_detail(request, order_id):
    order = _get_order_for_member(request, order_id)
    payments = list(_order_payments().filter(order=order))
    context = {
        "order": order,
        "lines": order.lines.select_related("product__producer").order_by("product__name"),
        "payments": payments,
        "instructions": still_expected(order, payments),
        "online": online_rows(payments),
        "held": client_account(request.membership).held,
        "can_add": order.accepts_additions,
    }
    return render(request, "orders/order_detail.html", context)

"""Distribution day: the page of every basket and each basket's page with its
« Paiement » box, and the helpers the day's other pages share.

Admins and treasurers see the baskets and record the money handed over (a
treasurer already records payments in a client's history); validating a
basket, alone or in bulk, locks it and stays with the admins.
"""

from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy

from accounts.access import staff_view
from accounts.outbox import emails_about
from cagette.ids import is_id
from cagette.search import SEARCH_MAX_LENGTH, clean_search
from orders.models import Order
from orders.money import pending_payments, uncovered
from payments.methods import PaymentMethod
from payments.models import AccountKind, Payment, PaymentStatus, Transaction, TransactionKind
from payments.stripe.forms import basket_online_refunds

from ..models import Distribution
from ..status import as_read
from .basket_money import credit_covers, receive_prefills, refund_suggestion
from .baskets import (
    DAY_FILTERS,
    day_baskets,
    day_baskets_search,
    day_totals,
    day_totals_read,
    with_day_totals,
)
from .forms import AddPaymentForm, ReceiveForm, RefundForm, manual_methods, on_site_methods
from .pickup import (
    basket_blockers,
)
from .rows import basket_rows

FILTER_LABELS = {
    "": gettext_lazy("Tous"),
    "a-valider": gettext_lazy("À valider"),
    "impayes": gettext_lazy("Impayés"),
    "nouveaux": gettext_lazy("Nouveaux clients"),
}


def checked_id(pk: int) -> int:
    if not is_id(pk):
        raise Http404
    return pk


def get_distribution(request, distribution_id) -> Distribution:
    return get_object_or_404(Distribution, pk=checked_id(distribution_id), market=request.market)


def get_basket(request, distribution_id, order_id) -> Order:
    """The basket, only within this market and this distribution (404 otherwise),
    read with its distribution."""
    payments = Payment.objects.select_related("received_by").order_by("created_at", "pk")
    return get_object_or_404(
        day_baskets(checked_id(distribution_id))
        .filter(distribution__market=request.market)
        .select_related("distribution")
        .annotate(has_cash_refunds=Exists(_cash_refunds(OuterRef("pk"))))
        .prefetch_related(Prefetch("payments", queryset=payments)),
        pk=checked_id(order_id),
    )


def _cash_refunds(order):
    """Cash given back for the basket at the pickup (a refund to the card shows with
    its online payment)."""
    return Transaction.objects.filter(
        order=order, kind=TransactionKind.REFUND, entries__account__kind=AccountKind.CASH
    )


def get_payment(order: Order, payment_id) -> Payment:
    for payment in order.payments.all():
        if payment.pk == payment_id:
            return payment
    raise Http404


def to_basket(request, order):
    return redirect("day_basket", request.market.slug, order.distribution_id, order.pk)


def to_distribution(request, distribution_id):
    return redirect("day_distribution", request.market.slug, distribution_id)


def _filter_links(active: str, search: str, totals: dict) -> list[dict]:
    links = []
    for slug, label in FILTER_LABELS.items():
        params = {key: value for key, value in (("filtre", slug), ("q", search)) if value}
        links.append(
            {
                "label": label,
                "count": totals[slug] if slug else totals["count"],
                "query": urlencode(params),
                "active": slug == active,
            }
        )
    return links


@staff_view
def day_distribution(request, distribution_id):
    distribution = get_distribution(request, distribution_id)
    active = request.GET.get("filtre", "")
    active = active if active in DAY_FILTERS else ""
    search = clean_search(request.GET.get("q"))
    baskets = day_baskets(distribution)
    where = {"market_slug": request.market.slug, "distribution_id": distribution.pk}
    if active or search:
        shown = baskets.filter(DAY_FILTERS[active]) if active else baskets
        rows = basket_rows(day_baskets_search(shown, search).order_by("number"), **where)
        totals = day_totals(baskets)
    else:  # every basket is listed: the totals come with the rows
        rows = basket_rows(with_day_totals(baskets).order_by("number"), **where)
        totals = day_totals_read(rows)
    context = {
        "distribution": as_read(distribution, count=totals["count"], validated=totals["validated"]),
        "rows": rows,
        "totals": totals,
        "filter_links": _filter_links(active, search, totals),
        "active_filter": active,
        "search": search,
        "search_max_length": SEARCH_MAX_LENGTH,
    }
    return render(request, "distributions/day/distribution.html", context)


def _receive_methods(market, payment: Payment) -> list[PaymentMethod]:
    if payment.method == PaymentMethod.TRANSFER:
        return [PaymentMethod.TRANSFER]
    return on_site_methods(market, payment.method)


def receive_form(market, payment: Payment, data=None, **kwargs) -> ReceiveForm:
    return ReceiveForm(data, payment=payment, methods=_receive_methods(market, payment), **kwargs)


def _expected_lines(request, order, pending, bound) -> list[tuple[Payment, ReceiveForm | None]]:
    """Each expected payment with its « Encaisser » form (none for an online payment),
    pre-filled with what is still due."""
    prefills = receive_prefills(order, pending)
    lines = []
    for payment in pending:
        form = None
        if payment.method != PaymentMethod.ONLINE_CARD:
            amount = prefills[payment.pk]
            form = bound.get(payment.pk) or receive_form(request.market, payment, amount=amount)
            form.still_due = amount
        lines.append((payment, form))
    return lines


def render_basket(request, order: Order, *, bound=None, add_form=None, refund_form=None):
    """The basket page; with a form that did not validate, shown back with its errors (400)."""
    invalid = bool(bound) or add_form is not None or refund_form is not None
    payments = list(order.payments.all())
    pending = pending_payments(payments)
    held = order.membership.account.held
    settle = credit_covers(order, pending, held)
    if add_form is None:
        methods = manual_methods(request.market)
        add_form = AddPaymentForm(methods=methods, amount=uncovered(order))
    context = {
        "order": order,
        "distribution": order.distribution,
        "lines": order.lines.select_related("product__producer").order_by(
            "product__producer__name", "product__name"
        ),
        "expected": _expected_lines(request, order, pending, bound or {}),
        "received": [p for p in payments if p.status == PaymentStatus.RECEIVED],
        "online_refunds": basket_online_refunds(payments),
        "not_paid": [p for p in payments if p.status == PaymentStatus.CANCELLED],
        # Looked for only when the basket has some (read with the basket).
        "refunds": _cash_refunds(order)
        .select_related("created_by", "reversal")
        .prefetch_related("entries")
        .order_by("pk")
        if order.has_cash_refunds
        else [],
        "held": held,
        "blockers": [] if order.is_validated else basket_blockers(order),
        "add_form": add_form,
        "refund_form": refund_form or RefundForm(amount=refund_suggestion(order, held)),
        # The credit pays the basket first: giving it back comes after.
        "show_refund": refund_form is not None or (held > 0 and not settle),
        "settle_from_credit": settle,
        "can_validate": request.membership.is_admin,
    }
    context["last_email"], context["emails_not_sent"] = emails_about(f"order:{order.pk}")
    status = 400 if invalid else 200
    return render(request, "distributions/day/basket.html", context, status=status)


@staff_view
def day_basket(request, distribution_id, order_id):
    return render_basket(request, get_basket(request, distribution_id, order_id))


LOCKED_MESSAGE = gettext_lazy(
    "Ce panier est validé : enregistrez un paiement, ou annulez une opération erronée, "
    "depuis l'historique du client."
)

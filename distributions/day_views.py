"""Distribution day: every basket, each basket's « Paiement » box, and the bulk validation.

Admins and treasurers see the baskets and record the money handed over (a
treasurer already records payments in a client's history); validating a
basket, alone or in bulk, locks it and stays with the admins. Every POST
redirects (POST/redirect/GET) and has one effect however often it is sent.
"""

import time
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.access import admin_view, staff_view
from cagette.http import post_only
from cagette.ids import id_from, is_id
from cagette.money import format_euros
from cagette.search import SEARCH_MAX_LENGTH, clean_search
from orders.models import Order
from payments.ledger import InsufficientBalanceError
from payments.methods import PaymentMethod
from payments.models import AccountKind, Payment, PaymentStatus, TransactionKind
from payments.services import PaymentStateError
from payments.stripe.views import basket_online_refunds

from .basket_money import basket_payment_receive_told, credit_covers, receive_prefills
from .day_forms import (
    AddPaymentForm,
    ReceiveForm,
    RefundForm,
    manual_methods,
    on_site_methods,
)
from .models import Distribution
from .services import (
    DAY_FILTERS,
    ZERO,
    BasketLocked,
    BasketNotReady,
    basket_blockers,
    basket_payment_add,
    basket_payment_cancel,
    basket_refund,
    basket_validate,
    bulk_plan,
    bulk_validate,
    day_baskets,
    day_baskets_search,
    day_totals,
    distribution_validate_if_done,
)

FILTER_LABELS = {
    "": gettext_lazy("Tous"),
    "a-valider": gettext_lazy("À valider"),
    "impayes": gettext_lazy("Impayés"),
    "nouveaux": gettext_lazy("Nouveaux clients"),
}


def _checked_id(pk: int) -> int:
    if not is_id(pk):
        raise Http404
    return pk


def _get_distribution(request, distribution_id) -> Distribution:
    return get_object_or_404(Distribution, pk=_checked_id(distribution_id), market=request.market)


def _get_basket(request, distribution_id, order_id) -> Order:
    """The basket, only within this market and this distribution (404 otherwise)."""
    distribution = _get_distribution(request, distribution_id)
    payments = Payment.objects.select_related("received_by").order_by("created_at", "pk")
    return get_object_or_404(
        day_baskets(distribution)
        .select_related("distribution")
        .prefetch_related(Prefetch("payments", queryset=payments)),
        pk=_checked_id(order_id),
    )


def _get_payment(order: Order, payment_id) -> Payment:
    for payment in order.payments.all():
        if payment.pk == payment_id:
            return payment
    raise Http404


def _to_basket(request, order):
    return redirect("day_basket", request.market.slug, order.distribution_id, order.pk)


def _to_distribution(request, distribution_id):
    return redirect("day_distribution", request.market.slug, distribution_id)


# -- The distribution page ------------------------------------------------------------


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
    distribution = _get_distribution(request, distribution_id)
    active = request.GET.get("filtre", "")
    active = active if active in DAY_FILTERS else ""
    search = clean_search(request.GET.get("q"))
    baskets = day_baskets(distribution)
    shown = baskets.filter(DAY_FILTERS[active]) if active else baskets
    totals = day_totals(baskets)
    if _validated_meanwhile(distribution, totals):
        distribution.refresh_from_db()
    context = {
        "distribution": distribution,
        "rows": day_baskets_search(shown, search).order_by("number"),
        "totals": totals,
        "filter_links": _filter_links(active, search, totals),
        "active_filter": active,
        "search": search,
        "search_max_length": SEARCH_MAX_LENGTH,
    }
    return render(request, "distributions/day/distribution.html", context)


def _validated_meanwhile(distribution, totals) -> bool:
    """Every basket validated before orders closed by the clock: validate it now."""
    done = totals["count"] and totals["validated"] == totals["count"]
    if not done or distribution.state != "closed":
        return False
    distribution_validate_if_done(distribution.pk)
    return True


# -- The basket page ------------------------------------------------------------------


def _receive_methods(market, payment: Payment) -> list[PaymentMethod]:
    if payment.method == PaymentMethod.TRANSFER:
        return [PaymentMethod.TRANSFER]
    return on_site_methods(market, payment.method)


def _receive_form(market, payment: Payment, data=None, **kwargs) -> ReceiveForm:
    return ReceiveForm(data, payment=payment, methods=_receive_methods(market, payment), **kwargs)


def _still_to_settle(order: Order, pending: list[Payment]) -> Decimal:
    """What no payment, received or expected, covers yet (prefills « Ajouter un paiement »)."""
    if order.on_balance:
        return ZERO
    return max(order.due - sum((p.amount for p in pending), ZERO), ZERO)


def _refund_suggestion(order: Order) -> Decimal | None:
    overpaid = order.received - order.total
    held = order.membership.account.held
    return min(overpaid, held) if overpaid > 0 and held > 0 else None


def _expected_lines(request, order, pending, bound) -> list[tuple[Payment, ReceiveForm | None]]:
    """Each expected payment with its « Encaisser » form (none for an online payment),
    pre-filled with what is still due."""
    prefills = receive_prefills(order, pending)
    lines = []
    for payment in pending:
        form = None
        if payment.method != PaymentMethod.ONLINE_CARD:
            amount = prefills[payment.pk]
            form = bound.get(payment.pk) or _receive_form(request.market, payment, amount=amount)
            form.still_due = amount
        lines.append((payment, form))
    return lines


def _render_basket(request, order: Order, *, bound=None, add_form=None, refund_form=None):
    """The basket page; with a form that did not validate, shown back with its errors (400)."""
    invalid = bool(bound) or add_form is not None or refund_form is not None
    payments = list(order.payments.all())
    pending = [p for p in payments if p.status == PaymentStatus.PENDING]
    held = order.membership.account.held
    settle = credit_covers(order, pending, held)
    if add_form is None:
        methods = manual_methods(request.market)
        add_form = AddPaymentForm(methods=methods, amount=_still_to_settle(order, pending))
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
        # Cash given back (a refund to the card shows with its online payment).
        "refunds": order.transactions.filter(
            kind=TransactionKind.REFUND, entries__account__kind=AccountKind.CASH
        )
        .select_related("created_by", "reversal")
        .prefetch_related("entries")
        .order_by("pk"),
        "held": held,
        "blockers": [] if order.is_validated else basket_blockers(order),
        "add_form": add_form,
        "refund_form": refund_form or RefundForm(amount=_refund_suggestion(order)),
        # The credit pays the basket first: giving it back comes after.
        "show_refund": refund_form is not None or (held > 0 and not settle),
        "settle_from_credit": settle,
        "can_validate": request.membership.is_admin,
    }
    status = 400 if invalid else 200
    return render(request, "distributions/day/basket.html", context, status=status)


@staff_view
def day_basket(request, distribution_id, order_id):
    return _render_basket(request, _get_basket(request, distribution_id, order_id))


# -- The « Paiement » box's actions ---------------------------------------------------

LOCKED_MESSAGE = gettext_lazy(
    "Ce panier est validé : enregistrez un paiement, ou annulez une opération erronée, "
    "depuis l'historique du client."
)


def _refuse_receiving(request, order, payment) -> bool:
    """Say why this payment cannot be received now; False if it can."""
    if order.is_validated:
        messages.error(request, LOCKED_MESSAGE)
    elif payment.status == PaymentStatus.RECEIVED:
        messages.info(request, _("Ce paiement est déjà encaissé."))
    elif payment.status == PaymentStatus.CANCELLED:
        messages.warning(
            request,
            _(
                "Ce paiement est marqué non payé : si le client a finalement payé, "
                "utilisez « Ajouter un paiement »."
            ),
        )
    elif payment.method == PaymentMethod.ONLINE_CARD:
        messages.error(request, _("Un paiement en ligne est confirmé par le prestataire."))
    else:
        return False
    return True


@post_only("day_basket", "distribution_id", "order_id")
@staff_view
def day_payment_receive(request, distribution_id, order_id, payment_id):
    order = _get_basket(request, distribution_id, order_id)
    payment = _get_payment(order, payment_id)
    if _refuse_receiving(request, order, payment):
        return _to_basket(request, order)
    form = _receive_form(request.market, payment, request.POST)
    if not form.is_valid():
        return _render_basket(request, order, bound={payment.pk: form})
    pending = [p for p in order.payments.all() if p.status == PaymentStatus.PENDING]
    expected = receive_prefills(order, pending)[payment.pk] or ZERO
    try:
        payment, effect = basket_payment_receive_told(
            order=order,
            payment=payment,
            expected=expected,
            received_by=request.user,
            **form.payment_fields(),
        )
    except BasketLocked:
        messages.error(request, LOCKED_MESSAGE)
    except PaymentStateError:
        messages.warning(request, _("Ce paiement vient d'être modifié : vérifiez-le."))
    else:
        text = _("%(method)s : %(amount)s encaissé.") % {
            "method": payment.get_method_display(),
            "amount": format_euros(payment.amount),
        }
        messages.success(request, f"{text} {effect.sentence()}".strip())
    return _to_basket(request, order)


@post_only("day_basket", "distribution_id", "order_id")
@staff_view
def day_payment_cancel(request, distribution_id, order_id, payment_id):
    order = _get_basket(request, distribution_id, order_id)
    payment = _get_payment(order, payment_id)
    if payment.status == PaymentStatus.CANCELLED:
        messages.info(request, _("Ce paiement est déjà marqué non payé."))
        return _to_basket(request, order)
    try:
        basket_payment_cancel(order=order, payment=payment, cancelled_by=request.user)
    except BasketLocked:
        messages.error(request, LOCKED_MESSAGE)
    except PaymentStateError:
        messages.error(
            request,
            _(
                "Ce paiement est déjà encaissé : pour le corriger, annulez l'opération "
                "depuis l'historique du client."
            ),
        )
    else:
        messages.success(
            request,
            _("Paiement de %(amount)s marqué non payé : la somme reste due par le client.")
            % {"amount": format_euros(payment.amount)},
        )
    return _to_basket(request, order)


@post_only("day_basket", "distribution_id", "order_id")
@staff_view
def day_payment_add(request, distribution_id, order_id):
    order = _get_basket(request, distribution_id, order_id)
    form = AddPaymentForm(
        request.POST, methods=manual_methods(request.market), membership_id=order.membership_id
    )
    if not form.is_valid():
        return _render_basket(request, order, add_form=form)
    try:
        payment = basket_payment_add(
            order=order,
            recorded_by=request.user,
            idempotency_key=form.idempotency_key(order.pk),
            **form.payment_fields(),
        )
    except BasketLocked:
        messages.error(request, LOCKED_MESSAGE)
    else:
        messages.success(
            request,
            _("Paiement de %(amount)s (%(method)s) enregistré.")
            % {"amount": format_euros(payment.amount), "method": payment.get_method_display()},
        )
    return _to_basket(request, order)


@post_only("day_basket", "distribution_id", "order_id")
@staff_view
def day_refund(request, distribution_id, order_id):
    order = _get_basket(request, distribution_id, order_id)
    form = RefundForm(request.POST)
    if not form.is_valid():
        return _render_basket(request, order, refund_form=form)
    amount = form.cleaned_data["amount"]
    try:
        basket_refund(
            order=order,
            amount=amount,
            refunded_by=request.user,
            idempotency_key=form.idempotency_key(order.pk),
        )
    except BasketLocked:
        messages.error(request, LOCKED_MESSAGE)
    except InsufficientBalanceError as error:
        form.add_error(
            "amount",
            _("Le remboursement dépasse l'avoir du client (%(held)s).")
            % {"held": format_euros(max(error.available, ZERO))},
        )
        return _render_basket(request, order, refund_form=form)
    else:
        messages.success(
            request,
            _("%(amount)s rendus en espèces au client.") % {"amount": format_euros(amount)},
        )
    return _to_basket(request, order)


@post_only("day_basket", "distribution_id", "order_id")
@admin_view
def day_basket_validate(request, distribution_id, order_id):
    order = _get_basket(request, distribution_id, order_id)
    if order.is_validated:
        messages.info(request, _("Ce panier est déjà validé."))
        return _to_distribution(request, distribution_id)
    try:
        basket_validate(order=order, validated_by=request.user)
    except BasketNotReady as error:
        messages.error(
            request,
            _("Ce panier ne peut pas encore être validé : %(reasons)s")
            % {"reasons": " ".join(error.reasons)},
        )
        return _to_basket(request, order)
    messages.success(
        request,
        _("Panier n° %(number)s de %(name)s validé.")
        % {"number": order.number, "name": order.membership.user.display_name},
    )
    return _to_distribution(request, distribution_id)


# -- Validating the baskets paid as declared ----------------------------------------------


def _bulk_summary(done) -> str:
    if not done.ready:
        sentences = [_("Aucun panier n'était prêt à être validé.")]
    else:
        sentences = [_validated_sentence(done)]
    if done.blocked:
        sentences.append(
            ngettext(
                "%(count)d panier attend une décision.",
                "%(count)d paniers attendent une décision.",
                len(done.blocked),
            )
            % {"count": len(done.blocked)}
        )
    if done.later:
        sentences.append(
            ngettext(
                "%(count)d panier reste à valider : vérifiez-le et confirmez à nouveau.",
                "%(count)d paniers restent à valider : vérifiez-les et confirmez à nouveau.",
                len(done.later),
            )
            % {"count": len(done.later)}
        )
    return " ".join(sentences)


def _validated_sentence(done) -> str:
    return ngettext(
        "%(count)d panier validé, %(amount)s encaissés comme déclaré.",
        "%(count)d paniers validés, %(amount)s encaissés comme déclaré.",
        len(done.ready),
    ) % {"count": len(done.ready), "amount": format_euros(done.to_receive)}


# Django refuses a POST of more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields (a
# guard against floods of fields that we keep as it is, for every page). So
# the confirmation page sends its baskets and its payments as one field each,
# a list of ids, whatever the size of the distribution; only the cheque
# numbers to type take fields of their own (two each), and the page asks for
# as many as fit, the rest waiting for the next page (`bulk_plan`).
FIELDS_BESIDE_CHEQUES = 10  # the token, the two lists, and room to spare
MAX_LISTED = 10_000  # ids read from one list, far past any distribution
# One confirmation validates baskets for at most this long (a web worker is
# stopped after 30 seconds by default); the rest wait for the next one.
BULK_SECONDS = 20


def _cheque_inputs() -> int | None:
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return None if limit is None else max((limit - FIELDS_BESIDE_CHEQUES) // 2, 0)


def _listed_ids(request, name: str) -> list[int]:
    """The rows the confirmation page listed (anything else in the POST is ignored).

    The page sends them as one field of ids separated by spaces; one field per
    id (as earlier pages sent them) reads the same.
    """
    words = [word for value in request.POST.getlist(name) for word in value.split()]
    return [pk for pk in map(id_from, words[:MAX_LISTED]) if pk is not None]


def _typed_cheques(request) -> dict[int, tuple[str, str]]:
    """Each cheque's number and bank as typed on the confirmation page, cut to the columns."""
    cheques = {}
    for name, value in request.POST.items():
        prefix, _sep, text = name.partition("-")
        pk = id_from(text)
        if prefix == "cheque" and pk is not None:
            bank = request.POST.get(f"bank-{pk}", "")
            cheques[pk] = (clean_search(value, 40), clean_search(bank, 80))
    return cheques


@admin_view
def day_bulk(request, distribution_id):
    distribution = _get_distribution(request, distribution_id)
    if request.method == "POST":
        done = bulk_validate(
            distribution=distribution,
            validated_by=request.user,
            order_ids=_listed_ids(request, "order"),
            payment_ids=_listed_ids(request, "payment"),
            cheques=_typed_cheques(request),
            until=time.monotonic() + BULK_SECONDS,
        )
        level = messages.success if done.ready else messages.warning
        level(request, _bulk_summary(done))
        if done.later:
            return redirect("day_bulk", request.market.slug, distribution.pk)
        return _to_distribution(request, distribution.pk)
    plan = bulk_plan(distribution, cheque_inputs=_cheque_inputs())
    context = {"distribution": distribution, "plan": plan}
    return render(request, "distributions/day/bulk.html", context)

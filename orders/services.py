"""Checkout and order changes.

An order is a record that follows the basket; the ledger never changes. Each
time an order's total changes, the difference is posted as a new transaction
(client debited, each producer's sales credited), and, when the market
manages payments, a pending `Payment` is created for what is still to pay.

Refusals a client can act on raise `CheckoutError`, whose message is a French
sentence for the page.
"""

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Market, Membership
from cagette.i18n import stored_language
from cagette.ids import is_id
from cagette.money import (
    ZERO,
    NumberTooLong,
    format_euros,
    format_quantity,
    parse_decimal,
    round_cents,
    typed_back,
)
from distributions.models import Distribution
from payments.ledger import (
    InsufficientBalanceError,
    Leg,
    client_account,
    retried_on_conflict,
    sales_account,
    transaction_post,
)
from payments.market_settings import stripe_keys_configured
from payments.methods import CAGNOTTE, OFFERABLE, ON_SITE_METHODS, PaymentMethod
from payments.models import Payment, PaymentStatus, Transaction, TransactionKind
from payments.services import payment_cancel
from payments.stripe.gateway import CHECKOUT_MINIMUM, checkout_accepts

from .models import CheckoutMode, Order, OrderLine, Product

logger = logging.getLogger(__name__)
MAX_QUANTITY = Decimal("999")
# The market may validate a basket before orders close (`distributions.services`).
VALIDATED_MESSAGE = gettext_lazy("Ce panier est déjà validé : il ne peut plus être modifié.")
QUANTITY_STEP = Decimal("0.001")  # what an order line stores


class CheckoutError(Exception):
    """A refusal the client can understand and act on."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class BasketLine:
    product: Product
    quantity: Decimal
    unit_price: Decimal | None = None  # the price it was ordered at, once recorded

    @property
    def price(self) -> Decimal:
        return self.product.unit_price if self.unit_price is None else self.unit_price

    @property
    def amount(self) -> Decimal:
        return round_cents(self.quantity * self.price)


# -- What the client may choose -------------------------------------------------


def online_card_configured() -> bool:
    # One rule for checkout and the settings page: both Stripe keys and the
    # webhook secret are set.
    return stripe_keys_configured()


def asks_for_payment(market: Market) -> bool:
    """Whether checkout asks the client how they will pay."""
    return market.payments_enabled and not market.cagnotte_mode


def checkout_mode(market: Market) -> str:
    """The mode an order is taken under now; the order keeps it (see `CheckoutMode`)."""
    if not market.payments_enabled:
        return CheckoutMode.UNMANAGED
    if market.cagnotte_mode:
        return CheckoutMode.CAGNOTTE_MODE
    return CheckoutMode.CHOICE


def checkout_choices(market: Market, amount: Decimal | None = None) -> list[str]:
    """The methods offered at checkout, in display order; given the ``amount`` to
    pay, only those that can take it (Stripe refuses totals under its minimum)."""
    if not asks_for_payment(market):
        return []
    offered = [m for m in OFFERABLE if market.offers(m)]
    if not online_card_configured() or (amount is not None and not checkout_accepts(amount)):
        offered = [m for m in offered if m != PaymentMethod.ONLINE_CARD]
    on_site = [m for m in offered if m in ON_SITE_METHODS]
    if len(on_site) > 1:
        # "Sur place": the client need not decide now; the admin records how.
        offered.insert(offered.index(on_site[-1]) + 1, PaymentMethod.ON_SITE)
    return [str(m) for m in offered]


def online_card_minimum_note(market: Market, amount: Decimal) -> str:
    """Why « carte bancaire en ligne » is not offered for ``amount``, when that is the reason."""
    if PaymentMethod.ONLINE_CARD in checkout_choices(market) and not checkout_accepts(amount):
        return online_card_minimum_message()
    return ""


def online_card_minimum_message() -> str:
    return _(
        "Le paiement par carte bancaire en ligne n'est possible qu'à partir de %(minimum)s "
        "(minimum demandé par Stripe) : choisissez un autre moyen de paiement."
    ) % {"minimum": format_euros(CHECKOUT_MINIMUM)}


# -- Reading a basket -------------------------------------------------------------


def _not_a_quantity(text, product: Product) -> CheckoutError:
    shown = typed_back(text).strip()
    if not shown:  # too long to quote
        return CheckoutError(
            _("La quantité de %(product)s n'est pas un nombre valable.") % {"product": product.name}
        )
    return CheckoutError(
        _("« %(text)s » n'est pas une quantité valable pour %(product)s.")
        % {"text": shown, "product": product.name}
    )


def _too_much(product: Product) -> CheckoutError:
    return CheckoutError(
        _("%(product)s : %(max)s au plus par commande.")
        % {"product": product.name, "max": MAX_QUANTITY}
    )


def parse_quantity(text, product: Product) -> Decimal:
    """A quantity typed by the client; 0 (however written) means "none of this product"."""
    if str(text if text is not None else "").strip() == "":
        return Decimal("0")
    try:
        quantity = parse_decimal(text)
    except NumberTooLong:
        raise _too_much(product) from None
    except ValueError:
        raise _not_a_quantity(text, product) from None
    if quantity < 0:
        raise CheckoutError(
            _("La quantité de %(product)s ne peut pas être négative.") % {"product": product.name}
        )
    if quantity == 0:
        return Decimal("0")
    if quantity > MAX_QUANTITY:
        raise _too_much(product)
    if product.sold_by_whole_units and quantity != quantity.to_integral_value():
        raise CheckoutError(
            _("%(product)s se commande à l'unité : indiquez un nombre entier.")
            % {"product": product.name}
        )
    # By value, not by digits typed: "1,5000" is 1,5.
    if quantity != quantity.quantize(QUANTITY_STEP):
        raise CheckoutError(_("%(product)s : trois décimales au plus.") % {"product": product.name})
    return quantity


def refuse_free_line(product: Product, quantity: Decimal, unit_price: Decimal) -> None:
    """Refuse a line whose amount rounds to 0,00 €: it would be given away, and post nothing."""
    if quantity and round_cents(quantity * unit_price) == 0:
        raise CheckoutError(
            _(
                "Quantité trop petite : %(quantity)s %(unit)s de %(product)s "
                "reviendrait à %(amount)s."
            )
            % {
                "quantity": format_quantity(quantity),
                "unit": product.get_unit_display(),
                "product": product.name,
                "amount": format_euros(ZERO),
            }
        )


def _product_id(key) -> int:
    try:
        pk = int(key)
    except (TypeError, ValueError):
        pk = 0
    if not is_id(pk):
        raise CheckoutError(_("Ce produit n'existe pas."))
    return pk


def basket_read(market: Market, quantities: Mapping) -> list[BasketLine]:
    """Turn ``{product_id: typed quantity}`` into basket lines (zero lines dropped)."""
    wanted = {_product_id(key): text for key, text in quantities.items()}
    products = Product.objects.available().filter(market=market, pk__in=wanted)
    products = {p.pk: p for p in products.select_related("producer")}
    if set(wanted) - set(products):
        raise CheckoutError(_("Un des produits demandés n'est pas proposé par ce marché."))
    lines = []
    for pk, text in wanted.items():
        quantity = parse_quantity(text, products[pk])
        if quantity:
            refuse_free_line(products[pk], quantity, products[pk].unit_price)
            lines.append(BasketLine(products[pk], quantity))
    return sorted(lines, key=lambda line: (line.product.producer.name, line.product.name))


def basket_total(lines) -> Decimal:
    return sum((line.amount for line in lines), ZERO)


def basket_priced(order: Order | None, lines: list[BasketLine]) -> list[BasketLine]:
    """The basket at the prices checkout will record, so the pages show what is posted."""
    current = _current_lines(order)
    return [
        replace(line, unit_price=current[line.product.pk].unit_price)
        if line.product.pk in current
        else line
        for line in lines
    ]


def basket_check(*, market: Market, order: Order | None, lines: list[BasketLine]) -> None:
    """Refuse at once a basket that checkout would refuse (a recorded order only grows,
    and a validated one no longer changes)."""
    if order is not None and order.is_validated:
        raise CheckoutError(str(VALIDATED_MESSAGE))
    if order is not None and market.payments_enabled:
        _refuse_reductions(_current_lines(order), {line.product.pk: line for line in lines})


# -- Recording an order -----------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    product: Product
    quantity: Decimal
    unit_price: Decimal


def _current_lines(order: Order | None) -> dict[int, OrderLine]:
    if order is None:
        return {}
    return {line.product_id: line for line in order.lines.select_related("product__producer")}


def _refuse_reductions(current: dict[int, OrderLine], wanted: dict[int, Wanted]) -> None:
    for product_id, line in current.items():
        if product_id not in wanted or wanted[product_id].quantity < line.quantity:
            raise CheckoutError(
                _(
                    "Votre commande est enregistrée : vous pouvez ajouter des produits, "
                    "mais pas retirer %(product)s ni en diminuer la quantité."
                )
                % {"product": line.product.name}
            )


def _set_lines(order: Order, current: dict[int, OrderLine], wanted: dict[int, Wanted]):
    """Make the order's lines match ``wanted``; return the change per producer."""
    for want in wanted.values():  # before any write: no line, hence no order, at 0,00 €
        refuse_free_line(want.product, want.quantity, want.unit_price)
    change: dict = defaultdict(Decimal)
    for product_id, line in current.items():
        change[line.product.producer] -= line.amount
        if product_id not in wanted:
            line.delete()
    for product_id, want in wanted.items():
        line = current.get(product_id) or OrderLine(order=order, product=want.product)
        line.quantity, line.unit_price = want.quantity, want.unit_price
        line.save()
        change[want.product.producer] += line.amount
    return {producer: amount for producer, amount in change.items() if amount}


def _post_change(order, change, *, kind, label, posted_by, key, floors=False, reason=""):
    """Post the change of an order's total: client debited, producers' sales credited."""
    total = sum(change.values(), ZERO)
    client = client_account(order.membership)
    legs = [
        Leg(sales_account(order.market, producer), -amount) for producer, amount in change.items()
    ]
    if total:
        legs.append(Leg(client, total))
    if len(legs) < 2:
        return None
    txn, _created = transaction_post(
        market=order.market,
        kind=kind,
        label=label,
        legs=legs,
        posted_by=posted_by,
        idempotency_key=key,
        floors={client: ZERO} if floors else None,
        order=order,
        reason=reason,
    )
    return txn


def _next_number(market: Market) -> int:
    last = Order.objects.filter(market=market).aggregate(last=Max("number"))["last"]
    return (last or 0) + 1


def _not_covered(error: InsufficientBalanceError, amount: Decimal) -> CheckoutError:
    return CheckoutError(
        _(
            "Votre solde (%(balance)s) ne couvre pas cette commande (%(amount)s) : "
            "créditez votre compte d'abord."
        )
        % {"balance": format_euros(error.available), "amount": format_euros(amount)}
    )


def _checked_choice(market: Market, choice: str) -> str:
    if not asks_for_payment(market):
        return ""
    if choice not in checkout_choices(market):
        raise CheckoutError(_("Choisissez un des moyens de paiement proposés par le marché."))
    return choice


@retried_on_conflict
def order_checkout(
    *,
    membership: Membership,
    distribution: Distribution,
    lines: list[BasketLine],
    choice: str,
    token: str,
    notify: bool = True,
) -> Order:
    """Record the client's basket once they have chosen how to pay.

    A first checkout creates the order; a later one for the same distribution
    changes it (only additions when the market manages payments). The same
    ``token`` (a double click, a resent form) records the basket once: sent
    again, even with another basket, it returns the order it recorded.
    """
    market = membership.market
    if distribution.market_id != market.pk or not distribution.is_open_for_orders():
        raise CheckoutError(_("Les commandes sont closes pour cette distribution."))
    choice = _checked_choice(market, choice)
    key = f"checkout:{distribution.pk}:{membership.pk}:{token}"
    with transaction.atomic():
        market = _lock_market(market)
        replay = Transaction.objects.filter(market=market, idempotency_key=key).first()
        if replay is not None:
            return replay.order
        order = _lock_order(distribution, membership)
        if order is not None and order.validated_at is not None:
            raise CheckoutError(str(VALIDATED_MESSAGE))
        current = _current_lines(order)
        wanted = _wanted_from_basket(current, lines)
        if not wanted and order is None:
            raise CheckoutError(_("Votre panier est vide."))
        if order is not None and market.payments_enabled:
            _refuse_reductions(current, wanted)
        if order is None:
            order = Order.objects.create(
                market=market,
                distribution=distribution,
                membership=membership,
                number=_next_number(market),
            )
        return _record(
            order, current, wanted, choice=choice, key=key, first=not current, notify=notify
        )


def _lock_market(market: Market) -> Market:
    """One checkout at a time per market: basket numbers stay unique and gapless,
    and a client's two tabs cannot both create the basket.

    FOR NO KEY UPDATE, not FOR UPDATE: inserting any row that points at the
    market (a transaction, a payment) takes FOR KEY SHARE on it. FOR UPDATE
    would make a cheque being recorded for this client (which holds the
    client's account, then inserts a transaction) wait for this checkout,
    which itself waits for that account: a deadlock.
    """
    return Market.objects.select_for_update(no_key=True).get(pk=market.pk)


def _lock_order(distribution: Distribution, membership: Membership) -> Order | None:
    """The client's basket, read under its row lock, or None.

    `basket_validate` locks the order too: once it has committed, this read
    sees ``validated_at``, so nothing is added to a validated basket. NO KEY,
    for the reason given in `_lock_market`: payments received for this order
    meanwhile (which point at it) need not wait.
    """
    return (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .filter(distribution=distribution, membership=membership)
        .first()
    )


def _wanted_from_basket(current, lines) -> dict[int, Wanted]:
    # A line already ordered keeps the price it was ordered at.
    return {
        line.product.pk: Wanted(
            line.product,
            line.quantity,
            current[line.product.pk].unit_price
            if line.product.pk in current
            else line.product.unit_price,
        )
        for line in lines
    }


def _record(order, current, wanted, *, choice, key, first, notify) -> Order:
    """Post the change and expect its payment.

    The floor (no negative balances) applies to a client who chooses to pay
    with their cagnotte. In the market's cagnotte mode nobody chooses
    (``choice`` is empty): the order goes on the client's account whatever
    it holds, and the admin regularises later, as the mode intends.
    """
    market = order.market
    change = _set_lines(order, current, wanted)
    if not change and not first:
        # The same basket sent again: nothing to post, and the method chosen
        # for what was recorded stays.
        return order
    difference = sum(change.values(), ZERO)
    if choice == PaymentMethod.ONLINE_CARD and not checkout_accepts(difference):
        raise CheckoutError(online_card_minimum_message())  # the order and lines rolled back
    with stored_language():
        if first:
            label = _("Commande panier n° %(number)s")
        elif market.payments_enabled:
            label = _("Complément de commande panier n° %(number)s")
        else:
            label = _("Modification de commande panier n° %(number)s")
        label = label % {"number": order.number} + f" ({order.distribution.date:%d/%m/%Y})"
    floors = choice == CAGNOTTE and not market.allow_negative_balances
    try:
        _post_change(
            order,
            change,
            kind=TransactionKind.ORDER,
            label=label,
            posted_by=order.membership.user,
            key=key,
            floors=floors,
        )
    except InsufficientBalanceError as error:
        raise _not_covered(error, difference) from None
    payment = None
    if choice and choice != CAGNOTTE and difference > 0:
        payment = Payment.objects.create(
            market=market,
            membership=order.membership,
            method=choice,
            amount=difference,
            status=PaymentStatus.PENDING,
            reference=order.next_payment_reference(),
            order=order,
            distribution=order.distribution,
            created_by=order.membership.user,
        )
    order.total += difference
    order.payment_method = choice
    order.checkout_mode = checkout_mode(market)
    order.updated_at = timezone.now()
    order.save(update_fields=["total", "payment_method", "checkout_mode", "updated_at"])
    if notify:  # something changed (see above): the client gets the new recap
        added = not first and market.payments_enabled and difference > 0
        _send_recap_after_commit(
            order, choice=choice, amount=difference, payment=payment, added=added
        )
    return order


def _send_recap_after_commit(order, *, choice, amount, payment, added) -> None:
    from .emails import send_order_recap

    payment_id = payment.pk if payment else None
    transaction.on_commit(
        lambda: send_order_recap(
            order.pk, choice=choice, amount=amount, payment_id=payment_id, added=added
        )
    )


@retried_on_conflict
def order_adjust(
    *,
    order: Order,
    wanted: list[Wanted],
    reason: str,
    adjusted_by,
    token: str,
) -> Transaction | None:
    """An admin changes an order (missing product, price fixed at pickup).

    The difference is posted as an order adjustment with its reason; the
    lines are set to ``wanted`` (a line left out is removed), and the payment
    still expected follows the new total (`_follow_expected_payments`). A
    validated basket is corrected the same way: the adjustment is itself the
    correcting entry, with its reason, in the client's history.
    """
    if not reason.strip():
        raise CheckoutError(_("Indiquez la raison de la modification."))
    key = f"adjust:{order.pk}:{token}"
    with transaction.atomic():
        # The order's row only (not the market's and distribution's joined
        # rows), and NO KEY, as in `_lock_order`.
        order = (
            Order.objects.select_for_update(no_key=True, of=("self",))
            .select_related("market", "distribution")
            .get(pk=order.pk)
        )
        replay = Transaction.objects.filter(market=order.market, idempotency_key=key).first()
        if replay is not None:
            return replay
        # The order, then its expected payments, then (in the ledger) the
        # accounts: the order ahead of the payment, as every flow takes them.
        expected = _expected_payments(order)
        current = _current_lines(order)
        before = {pk: (line.quantity, line.unit_price) for pk, line in current.items()}
        wanted_by_product = {w.product.pk: w for w in wanted}
        change = _set_lines(order, current, wanted_by_product)
        if not change and order.validated_at is not None:
            _refuse_silent_rewrite(before, wanted_by_product)
        with stored_language():
            label = _("Ajustement de commande panier n° %(number)s") % {"number": order.number}
        txn = _post_change(
            order,
            change,
            kind=TransactionKind.ORDER_ADJUSTMENT,
            label=label,
            posted_by=adjusted_by,
            key=key,
            reason=reason.strip(),
        )
        difference = sum(change.values(), ZERO)
        order.total += difference
        order.updated_at = timezone.now()
        order.save(update_fields=["total", "updated_at"])
        _follow_expected_payments(expected, difference, adjusted_by)
    return txn


def _refuse_silent_rewrite(before: dict[int, tuple], wanted: dict[int, Wanted]) -> None:
    """A validated basket changes only by an entry in the history: lines that change
    without moving any amount would leave no trace, so they are refused."""
    after = {pk: (want.quantity, want.unit_price) for pk, want in wanted.items()}
    if before != after:
        raise CheckoutError(
            _(
                "Ce panier est validé : une modification qui ne change aucun montant "
                "ne laisserait pas de trace, elle n'est pas enregistrée."
            )
        )


# Expected payments whose amount can still change: not the online ones, whose
# Stripe session was opened for a fixed amount.
ADJUSTABLE = [*map(str, ON_SITE_METHODS), PaymentMethod.ON_SITE, PaymentMethod.TRANSFER]


def _expected_payments(order: Order) -> list[Payment]:
    """The payments still expected whose amount may follow the order, latest first, locked."""
    return list(
        order.payments.select_for_update()
        .filter(status=PaymentStatus.PENDING, method__in=ADJUSTABLE)
        .order_by("-pk")
    )


def _follow_expected_payments(pending: list[Payment], difference: Decimal, adjusted_by) -> None:
    """Make the payments still expected for the order add up to its new total.

    A missing product lowers the latest expected payments (cancelling one that
    falls to zero), so the till does not wait for money nobody owes; a price
    fixed higher at the pickup raises the latest one. Received money is never
    touched: any difference stays on the client's balance.
    """
    if not pending or not difference:
        return
    if difference > 0:
        latest = pending[0]
        latest.amount += difference
        latest.save(update_fields=["amount"])
        return
    to_remove = -difference
    for payment in pending:
        if to_remove <= 0:
            break
        cut = min(payment.amount, to_remove)
        to_remove -= cut
        if cut == payment.amount:
            payment_cancel(payment=payment, cancelled_by=adjusted_by)
        else:
            payment.amount -= cut
            payment.save(update_fields=["amount"])

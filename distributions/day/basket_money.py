"""The basket page's money, said once: what each form pre-fills, what a payment
did to the client's balance, and settling a basket with the client's credit.

The basket's debit is on the client's balance from checkout on: a client who
held a credit of 30,00 € and ordered 20,80 € holds 9,20 € and owes nothing,
even while a cash payment of 20,80 € is still expected. Every sentence here
reads the balance, so the page never says « reste dû » of a basket the
balance already pays, nor « reste en avoir » of money that paid a debt.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from cagette.money import ZERO, format_euros
from orders.models import Order
from orders.money import ON_BALANCE, counted_unpaid, overpaid
from payments.ledger import client_account
from payments.methods import CAGNOTTE, PaymentMethod
from payments.models import Payment, PaymentStatus
from payments.services import payment_settle_from_balance

from .pickup import basket_payment_receive, basket_pending, lock_open_basket


def receive_prefills(order: Order, pending: list[Payment]) -> dict[int, Decimal | None]:
    """What each expected payment's « Encaisser » pre-fills: what is still due.

    The basket's ``due`` (from `day_baskets`) is shared out over the expected
    payments in their order, each taking at most its own amount: after a
    second payment of 5,00 € on a 20,80 € basket, the expected one pre-fills
    15,80 €. None: nothing is due any more for this one.
    """
    left = order.due
    prefills: dict[int, Decimal | None] = {}
    for payment in pending:
        share = min(payment.amount, max(left, ZERO))
        prefills[payment.pk] = share if share > 0 else None
        left -= payment.amount
    return prefills


def refund_suggestion(order: Order, held: Decimal) -> Decimal | None:
    """What « Rendre la monnaie » pre-fills: the excess received, up to what the client holds."""
    excess = overpaid(order)
    return min(excess, held) if excess > 0 and held > 0 else None


def credit_covers(order: Order, pending: list[Payment], held: Decimal) -> bool:
    """The client's balance pays what is still due: « Régler avec son avoir » is offered.

    ``held`` already has the basket's debit in it: when it is not negative, the
    payments still expected would only add to the client's credit, and a
    payment marked not paid left no debt.
    """
    return (
        not order.is_validated
        and not order.on_balance
        and order.due > 0
        and all(p.method != PaymentMethod.ONLINE_CARD for p in pending)
        and held >= 0
    )


# -- What a payment did to the balance ----------------------------------------------


@dataclass(frozen=True)
class BalanceEffect:
    """A payment received for ``received`` where ``expected`` was due, and the
    client's balance (what they hold) before and after it."""

    expected: Decimal
    received: Decimal
    before: Decimal
    after: Decimal

    @property
    def as_expected(self) -> Decimal:
        """What the client would hold had they paid what was expected."""
        return self.before + self.expected

    def sentence(self) -> str:
        """The difference with what was expected, and where it went; empty if none."""
        if self.received == self.expected:
            return ""
        args = {
            "amount": format_euros(abs(self.received - self.expected)),
            "after": format_euros(abs(self.after)),
            "part": format_euros(abs(self.as_expected)),
        }
        return str(DIFFERENCE_SENTENCES[self._case()]) % args

    def _case(self) -> str:
        if self.received > self.expected:
            if self.as_expected >= 0:
                return "excess-credit"
            if self.after <= 0:
                return "excess-debt" if self.after else "excess-settles"
            return "excess-debt-then-credit"
        if self.after >= 0:
            return "shortfall-credit"
        return "shortfall-debt" if self.as_expected <= 0 else "shortfall-credit-then-debt"


# ``part``: the older debt an excess pays, or the credit that covers part of a shortfall.
DIFFERENCE_SENTENCES = {
    "excess-credit": gettext_lazy(
        "%(amount)s de plus que prévu : la différence reste en avoir du client (avoir : %(after)s)."
    ),
    "excess-debt": gettext_lazy(
        "%(amount)s de plus que prévu : la différence règle une dette plus ancienne "
        "du client, qui doit encore %(after)s."
    ),
    "excess-settles": gettext_lazy(
        "%(amount)s de plus que prévu : la différence règle une dette plus ancienne "
        "du client, qui est maintenant à jour."
    ),
    "excess-debt-then-credit": gettext_lazy(
        "%(amount)s de plus que prévu : %(part)s règlent une dette plus ancienne du client, "
        "%(after)s restent en avoir."
    ),
    "shortfall-credit": gettext_lazy(
        "%(amount)s de moins que prévu : l'avoir du client couvre la différence "
        "(avoir restant : %(after)s)."
    ),
    "shortfall-debt": gettext_lazy(
        "%(amount)s de moins que prévu : la différence reste due par le client, "
        "qui doit maintenant %(after)s."
    ),
    "shortfall-credit-then-debt": gettext_lazy(
        "%(amount)s de moins que prévu : l'avoir du client en couvre %(part)s, "
        "il doit maintenant %(after)s."
    ),
}


def basket_payment_receive_told(
    *, order: Order, payment: Payment, expected: Decimal, received_by, **fields
) -> tuple[Payment, BalanceEffect]:
    """`basket_payment_receive`, with what it did to the client's balance.

    ``expected``: what the page asked for (see `receive_prefills`). The balance
    is read in the same transaction, under the basket's lock and after the
    posting, which holds the client's account until commit: no other posting
    slips between what was held before and after.
    """
    with transaction.atomic():
        lock_open_basket(order)
        status = Payment.objects.values_list("status", flat=True).get(pk=payment.pk)
        received = basket_payment_receive(
            order=order, payment=payment, received_by=received_by, **fields
        )
        after = client_account(order.membership).held
    posted = received.amount if status == PaymentStatus.PENDING else ZERO
    return received, BalanceEffect(expected, received.amount, after - posted, after)


# -- « Régler avec son avoir » -----------------------------------------------------------


class CreditShort(Exception):
    """The client's balance does not (or no longer) cover the basket."""

    def __init__(self, held: Decimal):
        super().__init__(f"the client holds {held}")
        self.held = held


class NothingToSettle(Exception):
    """The basket is already paid with the balance."""


class OnlinePaymentExpected(Exception):
    """An online payment is expected for the basket: Stripe may still take it."""


def basket_settle_from_credit(*, order: Order, settled_by) -> list[Payment]:
    """The client's credit pays the basket: what is expected of it is not needed.

    The basket's debit already took its amount from the balance, so nothing
    is posted: each payment still counted on and not received (expected, or
    marked not paid) is recorded as replaced by the cagnotte
    (`payments.services.payment_settle_from_balance`), and the basket reads
    as paid with the balance from then on, on this page and on the client's.
    Raises `CreditShort` when the balance is negative, `NothingToSettle`
    when the basket is already on the balance, `OnlinePaymentExpected` while
    an online payment is.
    """
    with transaction.atomic():
        order = lock_open_basket(order)
        if order.payment_method in ON_BALANCE:
            raise NothingToSettle(order.pk)
        if any(p.method == PaymentMethod.ONLINE_CARD for p in basket_pending(order)):
            raise OnlinePaymentExpected(order.pk)
        held = client_account(order.membership).held
        if held < 0:
            raise CreditShort(held)
        replaced = [p for p in order.payments.all() if counted_unpaid(p)]
        for payment in replaced:
            payment_settle_from_balance(payment=payment, settled_by=settled_by)
        order.payment_method = CAGNOTTE
        order.updated_at = timezone.now()
        order.save(update_fields=["payment_method", "updated_at"])
    return replaced

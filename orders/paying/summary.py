"""How a client's order is paid: one reading for « Mes commandes » and the order page.

An order may be paid in several parts: the first basket by transfer, an
addition by cheque, another from the balance (« cagnotte »). The order's
``payment_method`` is only the latest choice; the payments themselves, and
what none of them covers, tell the whole story.
"""

from django.utils.translation import gettext as _

from payments.instructions import PaymentInstructions
from payments.methods import CAGNOTTE, checkout_label

from ..models import CheckoutMode, Order
from ..money import on_balance_part, pending_payments, standing


def balance_label(order: Order) -> str:
    """How the part paid from the balance is named, by the mode the order was taken under.

    Empty where payments were not managed.
    """
    if order.checkout_mode == CheckoutMode.CAGNOTTE_MODE:
        return _("Cagnotte du marché")
    if order.checkout_mode == CheckoutMode.CHOICE:
        return checkout_label(CAGNOTTE)
    return ""


def still_expected(order: Order, payments) -> list[PaymentInstructions]:
    """What the order page tells the client to do.

    One block per payment still expected, with its own reference, and first
    the part on the balance when there is one, read from the mode the order
    was taken under (not the market's settings now): a cagnotte payment, or
    the market's cagnotte mode, or « settled with the market » where
    payments were not managed. Nothing is shown for a part a payment
    already covers.
    """
    market = order.market
    blocks = [
        PaymentInstructions(market, p.method, p.amount, p.reference)
        for p in pending_payments(payments)
    ]
    rest = on_balance_part(order, payments)
    if rest > 0:
        choice = CAGNOTTE if order.checkout_mode == CheckoutMode.CHOICE else ""
        blocks.insert(
            0,
            PaymentInstructions(
                market, choice, rest, order.reference, cagnotte_mode=order.in_cagnotte_mode
            ),
        )
    return blocks


def attach_payments(orders) -> list[Order]:
    """Give each order ``shown_payments``, ``balance_part`` and ``balance_label``.

    The orders must prefetch their payments (with ``rechoice``), oldest first.
    """
    orders = list(orders)
    for order in orders:
        payments = list(order.payments.all())
        order.shown_payments = standing(payments)
        order.balance_part = on_balance_part(order, payments)
        order.balance_label = balance_label(order)
    return orders

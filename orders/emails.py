"""The order recap email, queued with the order (`accounts.outbox`).

It is rendered in the transaction that records the order, with the figures of
that moment, and delivered by a job after the commit: a mail server that is
away delays it, never the order; the confirmation page shows the same
instructions.
"""

from django.core.mail import EmailMultiAlternatives

from accounts.models import OutgoingEmail
from accounts.outbox import email_queue
from cagette.emails import email_build
from cagette.i18n import language_of
from payments.instructions import PaymentInstructions
from payments.ledger import client_account

from .models import Order
from .money import pending_payments


def order_recap_queue(
    order_id: int, *, choice: str, amount, payment_id=None, added: bool = False
) -> OutgoingEmail:
    """Queue the recap; ``added`` when ``amount`` pays for products added to the order.

    Called in the transaction that changed the order: one email per change
    (the key holds the order's ``updated_at``), so a double submit queues one.
    An addition is paid on its own: its email says so and names the payments
    still expected, so that the client does not pay the whole new total on
    top of what they already owe.
    """
    order = Order.objects.select_related("market", "distribution", "membership__user").get(
        pk=order_id
    )
    with language_of(order.membership.user):
        reference = _reference(order, payment_id)
        earlier = _still_expected(order, payment_id) if added else None
        message = _build(order, choice=choice, amount=amount, reference=reference, earlier=earlier)
    return email_queue(
        message,
        key=f"order_recap:{order.pk}:{order.updated_at.isoformat()}",
        about=f"order:{order.pk}",
        market=order.market,
        user=order.membership.user,
    )


def _reference(order: Order, payment_id) -> str:
    """The reference of the payment this email asks for: a complement has its own."""
    if payment_id is None:
        return order.reference
    return order.payments.values_list("reference", flat=True).get(pk=payment_id)


def _still_expected(order: Order, payment_id) -> list:
    """The order's other payments still expected: an addition is paid on top of them."""
    payments = order.payments.exclude(pk=payment_id).order_by("created_at", "pk")
    return pending_payments(payments)


def _build(
    order: Order, *, choice: str, amount, reference: str, earlier: list | None
) -> EmailMultiAlternatives:
    """``earlier`` is None for a whole order, else the payments the addition adds to."""
    context = {
        "order": order,
        "market": order.market,
        "lines": order.lines.select_related("product__producer").order_by("product__name"),
        "instructions": PaymentInstructions(
            order.market, choice, amount, reference, cagnotte_mode=order.in_cagnotte_mode
        ),
        "held": client_account(order.membership).held,
        "added": earlier is not None,
        "earlier": earlier or [],
    }
    return email_build("order_recap", context, to=order.membership.user)

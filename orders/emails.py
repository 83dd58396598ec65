"""The order recap email, sent after the order is committed.

A failed send is logged and never undoes the order: the confirmation page
shows the same instructions.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from payments.ledger import client_account

from .instructions import PaymentInstructions
from .models import Order

logger = logging.getLogger(__name__)


def send_order_recap(order_id: int, *, choice: str, amount, payment_id=None) -> bool:
    try:
        order = Order.objects.select_related("market", "distribution", "membership__user").get(
            pk=order_id
        )
        with translation.override(settings.LANGUAGE_CODE):
            reference = _reference(order, payment_id)
            message = _build(order, choice=choice, amount=amount, reference=reference)
        message.send()
    except Exception:
        logger.exception("Order recap email for order %s was not sent", order_id)
        return False
    return True


def _reference(order: Order, payment_id) -> str:
    """The reference of the payment this email asks for: a complement has its own."""
    if payment_id is None:
        return order.reference
    return order.payments.values_list("reference", flat=True).get(pk=payment_id)


def _build(order: Order, *, choice: str, amount, reference: str) -> EmailMultiAlternatives:
    context = {
        "order": order,
        "market": order.market,
        "lines": order.lines.select_related("product__producer").order_by("product__name"),
        "instructions": PaymentInstructions(order.market, choice, amount, reference),
        "held": client_account(order.membership).held,
    }
    subject = " ".join(render_to_string("emails/order_recap-subject.txt", context).split())
    body = render_to_string("emails/order_recap-body.txt", context)
    html = render_to_string("emails/order_recap-body.html", context)
    message = EmailMultiAlternatives(
        subject, body, settings.DEFAULT_FROM_EMAIL, [order.membership.user.email]
    )
    message.attach_alternative(html, "text/html")
    return message

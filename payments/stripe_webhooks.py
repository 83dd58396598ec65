"""Stripe's webhook events: each one handled once, whatever the order of arrival.

Stripe sends an event again until it gets a 2xx, may send it twice anyway, and
does not keep order. So:

* each event id is stored once (`StripeEvent`, unique), in the same database
  transaction as its effects: a delivery seen before does nothing, and one
  whose handling failed leaves no trace and is handled again next time;
* what an event does depends on the state it carries, not on the event that
  came before: sessions go through `payments.online.checkout_apply`, whose
  statuses only move forward and whose posting is keyed on the payment;
  refunds go through `payments.stripe_refunds.refund_apply`, which posts the
  difference between the charge's running total and what is already posted.

Two different events about one session, delivered at the same time, wait for
each other on the session's row lock.
"""

import logging
from collections.abc import Callable, Mapping

from django.db import IntegrityError, transaction

from .models import StripeEvent
from .online import checkout_apply
from .stripe_refunds import refund_apply

logger = logging.getLogger(__name__)


def _session_failed(session: Mapping):
    return checkout_apply(session, failed=True)


HANDLERS: dict[str, Callable[[Mapping], object]] = {
    "checkout.session.completed": checkout_apply,
    "checkout.session.async_payment_succeeded": checkout_apply,
    "checkout.session.async_payment_failed": _session_failed,
    "checkout.session.expired": checkout_apply,
    "charge.refunded": refund_apply,
}


def event_handle(event: Mapping) -> bool:
    """Handle one verified event; False when it was handled before."""
    obj = event.get("data", {}).get("object", {})
    with transaction.atomic():
        try:
            with transaction.atomic():
                StripeEvent.objects.create(
                    event_id=event["id"],
                    type=event.get("type", ""),
                    object_id=obj.get("id") or "",
                    payload=dict(event),
                )
        except IntegrityError:
            logger.info("Stripe event %s already handled", event["id"])
            return False
        handler = HANDLERS.get(event.get("type", ""))
        if handler is not None:
            handler(obj)
    return True

"""Stripe's webhook events: each one handled once, whatever the order of arrival.

Stripe sends an event again until it gets a 2xx, may send it twice anyway, and
does not keep order. So:

* each event id is stored once (`StripeEvent`, unique), in the same database
  transaction as its effects: a delivery seen before does nothing, and one
  whose handling failed leaves no trace and is handled again next time;
* what an event does depends on the state it carries, not on the event that
  came before: sessions go through `payments.online.checkout_apply`, whose
  statuses only move forward and whose posting is keyed on the payment;
  refunds go through `payments.stripe_refunds`, whose statuses only move
  forward too and whose postings are keyed on each refund;
* an event we cannot handle yet (a refund on a session not known as paid,
  Stripe unreachable when it must be asked) raises: nothing is recorded, the
  view answers a 5xx, and Stripe delivers it again later;
* a signed event is still checked for the shape the handlers read
  (`event_checked`): a malformed one is refused, with nothing written.

Two different events about one session, delivered at the same time, wait for
each other on the session's row lock.
"""

import json
import logging
from collections.abc import Callable, Mapping

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from .models import StripeEvent
from .online import checkout_apply
from .stripe_refunds import refund_apply, refund_update

logger = logging.getLogger(__name__)


def _session_failed(session: Mapping):
    return checkout_apply(session, failed=True)


HANDLERS: dict[str, Callable[[Mapping], object]] = {
    "checkout.session.completed": checkout_apply,
    "checkout.session.async_payment_succeeded": checkout_apply,
    "checkout.session.async_payment_failed": _session_failed,
    "checkout.session.expired": checkout_apply,
    "charge.refunded": refund_apply,
    "charge.refund.updated": refund_update,
    "refund.updated": refund_update,
    "refund.failed": refund_update,
}


class MalformedEvent(ValueError):
    """A correctly signed body that is not shaped like a Stripe event."""


def event_verified(payload: bytes, signature: str | None) -> dict:
    """The event in ``payload``, once its signature and its shape are checked.

    Raises `stripe.SignatureVerificationError`, or a `ValueError` (not JSON,
    not UTF-8, `MalformedEvent`).
    """
    text = payload.decode("utf-8")
    stripe.WebhookSignature.verify_header(
        text, signature, settings.STRIPE_WEBHOOK_SECRET, stripe.Webhook.DEFAULT_TOLERANCE
    )
    return event_checked(json.loads(text))


def _text(value, field: str) -> bool:
    """A string that fits the `StripeEvent` column it is stored in."""
    limit = StripeEvent._meta.get_field(field).max_length
    return isinstance(value, str) and len(value) <= limit


def event_checked(event) -> dict:
    """``event`` when it has what handling reads: an id, a type, an object."""
    if not isinstance(event, dict):
        raise MalformedEvent("an event is a JSON object")
    if not _text(event.get("id"), "event_id") or not event["id"]:
        raise MalformedEvent("an event has an id")
    if not _text(event.get("type"), "type"):
        raise MalformedEvent(f"event {event['id']} has no type")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedEvent(f"event {event['id']} carries no object")
    if not _text(data["object"].get("id", ""), "object_id"):
        raise MalformedEvent(f"event {event['id']} carries an object without a usable id")
    return event


def event_handle(event: Mapping) -> bool:
    """Handle one verified, well-shaped event; False when it was handled before."""
    obj = event["data"]["object"]
    with transaction.atomic():
        try:
            with transaction.atomic():
                StripeEvent.objects.create(
                    event_id=event["id"],
                    type=event["type"],
                    object_id=obj.get("id") or "",
                    payload=dict(event),
                )
        except IntegrityError:
            logger.info("Stripe event %s already handled", event["id"])
            return False
        handler = HANDLERS.get(event["type"])
        if handler is not None:
            handler(obj)
    return True

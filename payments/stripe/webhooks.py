"""Stripe's webhook events: stored at once, each applied once by a job, whatever the
order of arrival.

Stripe sends an event again until it gets a 2xx, may send it twice anyway, and
does not keep order. So:

* the webhook checks the signature and the event's shape, then stores it
  (`event_store`: `StripeEvent`, its id unique) and defers the job that
  applies it in the same database transaction, and answers 200: a delivery
  seen before finds its row and defers nothing; a database that cannot be
  reached makes the webhook answer a 5xx, so that Stripe delivers it again;
* the job (`event_apply`) applies it under the row's lock and sets
  ``applied_at`` in the transaction of its effects: a second run finds it
  applied and does nothing;
* what an event does depends on the state it carries, not on the event that
  came before: sessions go through `payments.stripe.checkout.checkout_apply`, whose
  statuses only move forward and whose posting is keyed on the payment;
  refunds go through `payments.stripe.refund_events`, whose statuses only move
  forward too and whose postings are keyed on each refund;
* the jobs of one payment run one after another, in the order the events
  arrived (a procrastinate ``lock`` naming the payment intent, `event_lock`),
  a session's events before its refunds' (a higher priority: a refund waiting
  for its session to be paid never holds the session's own event back);
* an event that cannot be applied yet (a refund on a session not known as
  paid, Stripe unreachable when it must be asked) rolls back and raises
  `cagette.jobs.Temporary`: the queue tries again later, for a day;
* a signed event is checked, once, at the boundary, for the shape the
  handlers read (`event_checked`: no NUL character, NaN or infinity anywhere,
  each field the handlers read of the type and range Stripe sends); one that
  can never be handled is kept as a `RejectedStripeEvent` for an admin
  (`event_reject`): refused with a 400 when malformed, or found at odds with
  our records by its job (a refund larger than its session), nothing else
  written.
"""

import json
import logging
import math
from collections.abc import Callable, Mapping
from typing import NamedTuple

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from procrastinate.contrib.django import app

from cagette.jobs import Temporary, defer

from ..models import RejectedStripeEvent, StripeCheckout, StripeEvent
from .checkout import checkout_apply
from .gateway import GatewayError
from .refund_events import refund_apply, refund_update
from .refunds import ImpossibleRefund, RefundTooEarly

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
    """A correctly signed body that can never be handled: not shaped like a Stripe
    event, or at odds with our records."""


def _no_constant(name: str):
    raise MalformedEvent(f"{name} is not a number Stripe sends")


def event_verified(payload: bytes, signature: str | None) -> dict:
    """The event in ``payload``, once its signature and its shape are checked.

    Raises `stripe.SignatureVerificationError`, a `ValueError` for a body that
    is not UTF-8 (it cannot be verified), or `MalformedEvent` for a signed one
    that is not JSON or not shaped like an event.
    """
    text = payload.decode("utf-8")
    stripe.WebhookSignature.verify_header(
        text, signature, settings.STRIPE_WEBHOOK_SECRET, stripe.Webhook.DEFAULT_TOLERANCE
    )
    try:
        event = json.loads(text, parse_constant=_no_constant)
    except RecursionError as error:
        raise MalformedEvent("nested too deeply") from error
    except MalformedEvent:
        raise
    except ValueError as error:
        raise MalformedEvent(f"not JSON: {error}") from error
    return event_checked(event)


def _column(value, field: str) -> bool:
    """A string that fits the `StripeEvent` column it is stored in."""
    limit = StripeEvent._meta.get_field(field).max_length
    return isinstance(value, str) and len(value) <= limit


def event_checked(event) -> dict:
    """``event`` when it has what handling reads: an id, a type, an object of the
    shape its handler reads, and nothing PostgreSQL cannot store."""
    _storable(event)
    if not isinstance(event, dict):
        raise MalformedEvent("an event is a JSON object")
    if not _column(event.get("id"), "event_id") or not event["id"]:
        raise MalformedEvent("an event has an id")
    if not _column(event.get("type"), "type"):
        raise MalformedEvent(f"event {event['id']} has no type")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedEvent(f"event {event['id']} carries no object")
    if not _column(data["object"].get("id", ""), "object_id"):
        raise MalformedEvent(f"event {event['id']} carries an object without a usable id")
    if event["type"] in SHAPES:
        _conform(data["object"], SHAPES[event["type"]], f"event {event['id']}: object")
    return event


def event_store(event: Mapping) -> StripeEvent | None:
    """Store a verified, well-shaped event and defer its job, in one transaction.

    None when the event was stored before (a redelivery): nothing is deferred.
    """
    obj = event["data"]["object"]
    with transaction.atomic():
        stored, created = StripeEvent.objects.get_or_create(
            event_id=event["id"],
            defaults={"type": event["type"], "object_id": obj.get("id") or "", "payload": event},
        )
        if not created:
            logger.info("Stripe event %s already received", event["id"])
            return None
        # Named, not imported: payments.tasks imports this module.
        job = app.configure_task(
            "stripe_event_apply",
            allow_unknown=False,
            lock=event_lock(event),
            priority=1 if event["type"].startswith("checkout.session.") else 0,
        )
        defer(job, event_id=stored.event_id)
    return stored


def event_lock(event: Mapping) -> str:
    """The payment an event concerns, as a job lock: its payment intent, which its
    session's events and its refunds' all name (or that our session row knows)."""
    obj = event["data"]["object"]
    intent = obj.get("payment_intent")
    if isinstance(intent, Mapping):
        intent = intent.get("id")
    if not intent:
        if event["type"].startswith("checkout.session."):
            ours = Q(session_id=obj.get("id"))
        else:  # a refund names its charge; a charge is one
            ours = Q(charge_id=obj.get("charge") or obj.get("id"))
        known = StripeCheckout.objects.filter(ours).exclude(payment_intent="")
        intent = known.values_list("payment_intent", flat=True).first()
    return f"stripe-payment:{intent or obj.get('id') or event['id']}"


def event_apply(event_id: str) -> bool:
    """Apply the stored event ``event_id``, once; False when there was nothing to do.

    Raises `cagette.jobs.Temporary` when it cannot be applied yet (nothing
    written but the try); one at odds with our records is rejected for good.
    """
    try:
        with transaction.atomic():
            stored = StripeEvent.objects.select_for_update().get(event_id=event_id)
            if stored.applied_at is not None:
                return False
            handler = HANDLERS.get(stored.type)
            if handler is not None:
                handler(stored.payload["data"]["object"])
            stored.applied_at, stored.attempts = timezone.now(), stored.attempts + 1
            stored.save(update_fields=["applied_at", "attempts"])
    except ImpossibleRefund as error:
        _tried(event_id, f"{type(error).__name__}: {error}")
        stored = StripeEvent.objects.get(event_id=event_id)
        payload = json.dumps(stored.payload).encode()
        event_reject(payload, MalformedEvent(f"event {event_id}: {error}"))
        return False
    except (RefundTooEarly, GatewayError) as error:
        logger.warning("Stripe event %s to be applied later: %s", event_id, error)
        _tried(event_id, f"{type(error).__name__}: {error}")
        raise Temporary(f"Stripe event {event_id}: {error}") from error
    return True


def _tried(event_id: str, error: str) -> None:
    StripeEvent.objects.filter(event_id=event_id).update(
        attempts=F("attempts") + 1, last_error=error[:2000]
    )


PAYLOAD_KEPT = 100_000  # characters of a rejected body kept for the admin


def event_reject(payload: bytes, error: MalformedEvent) -> RejectedStripeEvent:
    """Keep a signed event refused for good, once per event id (deliveries counted)."""
    text = payload.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    event_id, type_ = _named(text)
    reason = str(error).replace("\x00", "\ufffd")[:2000]
    logger.error("Stripe event %s refused for good: %s", event_id or "?", reason)
    now = timezone.now()
    if event_id:
        seen = RejectedStripeEvent.objects.filter(event_id=event_id)
        if seen.update(deliveries=F("deliveries") + 1, last_received_at=now, reason=reason):
            return seen.first()
    return RejectedStripeEvent.objects.create(
        event_id=event_id,
        type=type_,
        reason=reason,
        payload=text[:PAYLOAD_KEPT],
        received_at=now,
        last_received_at=now,
    )


def _named(text: str) -> tuple[str, str]:
    """The event's id and type, as far as they can be read (for the admin's list)."""
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        return "", ""
    if not isinstance(event, dict):
        return "", ""
    fields = [event.get("id"), event.get("type")]
    return tuple(v[:100].replace("\x00", "") if isinstance(v, str) else "" for v in fields)


# -- The shapes the handlers read --------------------------------------------------------
#
# Each object type's spec names the fields its handler reads, with what Stripe sends
# there (see `_conform`); other fields are not looked at: Stripe adds fields freely.

MAX_CENTS = 99_999_999  # Stripe's largest amount in euros: 999 999,99 €
MAX_TIME = 253_402_300_799  # 9999-12-31 23:59:59 UTC
MAX_DEPTH = 32
MAX_TEXT = 5000


def _storable(value) -> None:
    """No NUL character (PostgreSQL stores none), no NaN or infinity, not too deep."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise MalformedEvent("nested too deeply")
        if isinstance(node, str) and "\x00" in node:
            raise MalformedEvent("a text holds a NUL character")
        if isinstance(node, float) and not math.isfinite(node):
            raise MalformedEvent("a number is NaN or infinite")
        if isinstance(node, dict):
            stack.extend((key, depth + 1) for key in node)
            stack.extend((item, depth + 1) for item in node.values())
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)


class Nullable(NamedTuple):
    """A field that may be missing or null."""

    spec: object


def _conform(value, spec, path: str) -> None:
    """Raise `MalformedEvent` unless ``value`` fits ``spec``: a dict (an object with
    these fields), a one-item list (a list of such items), a tuple (any one of
    these), `Nullable`, or a function saying whether a value is fine."""
    if isinstance(spec, Nullable):
        if value is None:
            return
        spec = spec.spec
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise MalformedEvent(f"{path} is not an object")
        for name, field in spec.items():
            _conform(value.get(name), field, f"{path}.{name}")
    elif isinstance(spec, list):
        if not isinstance(value, list):
            raise MalformedEvent(f"{path} is not a list")
        for i, item in enumerate(value):
            _conform(item, spec[0], f"{path}[{i}]")
    elif isinstance(spec, tuple):
        if not any(_fits(value, alternative, path) for alternative in spec):
            raise MalformedEvent(f"{path} is of none of the types Stripe sends")
    elif not spec(value):
        raise MalformedEvent(f"{path} is of the wrong type or out of range")


def _fits(value, spec, path: str) -> bool:
    try:
        _conform(value, spec, path)
    except MalformedEvent:
        return False
    return True


def _text(value) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _id(value) -> bool:
    return _text(value) and 0 < len(value) <= 255


def _cents(value) -> bool:
    return type(value) is int and 0 <= value <= MAX_CENTS


def _time(value) -> bool:
    return type(value) is int and 0 <= value <= MAX_TIME


def _flag(value) -> bool:
    return isinstance(value, bool)


def _metadata(value) -> bool:
    return isinstance(value, dict) and all(_text(k) and _text(v) for k, v in value.items())


TEXT, CENTS, METADATA = Nullable(_text), Nullable(_cents), Nullable(_metadata)
LINK = Nullable((_id, {"id": _id}))  # an id, or the object it names, expanded
INTENT = {"id": _id, "status": TEXT, "latest_charge": LINK}
SESSION = {
    "id": _id,
    "amount_total": CENTS,
    "status": TEXT,
    "payment_status": TEXT,
    "payment_intent": Nullable((_id, INTENT)),
    "metadata": METADATA,
    "url": TEXT,
}
REFUND = {
    "id": _id,
    "amount": _cents,
    "status": TEXT,
    "charge": Nullable(_id),  # events name them by id (refunds look our rows up by them)
    "payment_intent": Nullable(_id),
    "metadata": METADATA,
    "created": Nullable(_time),
}
CHARGE = {
    "id": _id,
    "payment_intent": Nullable(_id),
    "amount": CENTS,
    "amount_refunded": CENTS,
    "refunds": Nullable({"data": [REFUND], "has_more": Nullable(_flag)}),
}
SHAPES = {
    "checkout.session.completed": SESSION,
    "checkout.session.async_payment_succeeded": SESSION,
    "checkout.session.async_payment_failed": SESSION,
    "checkout.session.expired": SESSION,
    "charge.refunded": CHARGE,
    "charge.refund.updated": REFUND,
    "refund.updated": REFUND,
    "refund.failed": REFUND,
}

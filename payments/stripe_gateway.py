"""Every call to Stripe's API goes through here.

The real `stripe` library is used, pointed at ``settings.STRIPE_API_BASE``
(Stripe itself in production, a local fake server under tests). Amounts are
`Decimal` everywhere else; they become Stripe's integer cents only here.
Answers come back as plain dicts, shaped like the objects in webhook events,
so the rest of the code reads one shape whichever way a session arrived.

Every POST carries an idempotency key derived from our own rows (the payment
and its attempt, the refund form's token): a request retried by the library,
or sent again by a double click, has one effect at Stripe.
"""

import logging
from decimal import Decimal
from functools import lru_cache

import stripe
from django.conf import settings

from cagette.money import CENT

logger = logging.getLogger(__name__)
CURRENCY = "eur"


class GatewayError(Exception):
    """Stripe did not do what was asked (a developer or an operator must look)."""


class GatewayUnavailable(GatewayError):
    """Stripe could not be reached or failed: trying again later may work."""


class GatewayRefused(GatewayError):
    """Stripe refused the request (e.g. a session that is no longer open)."""


def to_cents(amount: Decimal) -> int:
    """``Decimal("12.34")`` → ``1234``; refuses anything that is not whole cents."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"amounts are Decimal, not {type(amount).__name__}")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    """``1234`` → ``Decimal("12.34")``."""
    return (Decimal(int(cents)) / 100).quantize(CENT)


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    # Retried requests keep their idempotency key: retrying is always safe.
    return stripe.StripeClient(api_key, base_addresses={"api": api_base}, max_network_retries=2)


def client() -> stripe.StripeClient:
    """The client for the configured key and API base (read each time: tests change them)."""
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


def _call(action: str, request):
    try:
        return request().to_dict()
    except stripe.InvalidRequestError as error:
        logger.warning("Stripe refused %s: %s", action, error.user_message or error)
        raise GatewayRefused(str(error.user_message or error)) from error
    except stripe.StripeError as error:
        logger.warning("Stripe failed %s: %s", action, error)
        raise GatewayUnavailable(str(error)) from error


def checkout_session_create(
    *, payment, attempt: int, label: str, success_url: str, cancel_url: str
) -> dict:
    """Open a Checkout Session for ``payment`` (one line: the amount to pay)."""
    order = payment.order
    metadata = {
        "payment_id": str(payment.pk),
        "order_id": str(order.pk) if order else "",
        "market_id": str(payment.market_id),
        "attempt": str(attempt),
    }
    params = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": CURRENCY,
                    "unit_amount": to_cents(payment.amount),
                    "product_data": {"name": label},
                },
            }
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": str(payment.pk),
        "customer_email": payment.membership.user.email,
        "locale": "fr",
        "metadata": metadata,
        # The PaymentIntent carries the link too: transfers to producers
        # (same transfer group) and charges can be traced back to the order.
        "payment_intent_data": {
            "metadata": metadata,
            "transfer_group": f"order-{order.pk}" if order else f"payment-{payment.pk}",
        },
    }
    key = f"checkout-session-{payment.pk}-{attempt}"
    return _call(
        "checkout session",
        lambda: client().v1.checkout.sessions.create(params, {"idempotency_key": key}),
    )


def checkout_session_retrieve(session_id: str) -> dict:
    """The session as Stripe sees it now, with its PaymentIntent (to tell a failure)."""
    return _call(
        "session retrieve",
        lambda: client().v1.checkout.sessions.retrieve(session_id, {"expand": ["payment_intent"]}),
    )


def checkout_session_expire(session_id: str) -> dict:
    """Close an open session so it can no longer be paid (refused if not open)."""
    return _call(
        "session expire",
        lambda: client().v1.checkout.sessions.expire(
            session_id, options={"idempotency_key": f"expire-{session_id}"}
        ),
    )


def refund_create(
    *, payment_intent: str, amount: Decimal, idempotency_key: str, metadata: dict
) -> dict:
    """Ask Stripe to give ``amount`` back to the card that paid ``payment_intent``."""
    params = {"payment_intent": payment_intent, "amount": to_cents(amount), "metadata": metadata}
    return _call(
        "refund",
        lambda: client().v1.refunds.create(params, {"idempotency_key": idempotency_key}),
    )


def transfer_create(
    *, amount: Decimal, destination: str, transfer_group: str, idempotency_key: str, metadata: dict
) -> dict:
    """Send ``amount`` to a connected account (a producer's share of a payment)."""
    params = {
        "amount": to_cents(amount),
        "currency": CURRENCY,
        "destination": destination,
        "transfer_group": transfer_group,
        "metadata": metadata,
    }
    return _call(
        "transfer",
        lambda: client().v1.transfers.create(params, {"idempotency_key": idempotency_key}),
    )

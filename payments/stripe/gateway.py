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
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache

import stripe
from django.conf import settings

from cagette.http import outside_requests
from cagette.money import CENT

logger = logging.getLogger(__name__)
CURRENCY = "eur"


class GatewayError(Exception):
    """Stripe did not do what was asked (a developer or an operator must look)."""

    def __init__(self, message: str = "", *, http_status: int | None = None):
        super().__init__(message)
        self.http_status = http_status

    @property
    def not_done(self) -> bool:
        """Stripe answered that it did nothing (a 4xx), whether for good or for now.

        A timeout, a lost connection or a 5xx leave the outcome unknown: Stripe
        may have done it. So does a 409 (the same idempotency key in use by a
        request still running); a 429 is left unknown too, to be sent again.
        """
        status = self.http_status or 0
        return 400 <= status < 500 and status not in (409, 429)


class GatewayUnavailable(GatewayError):
    """Stripe could not be reached, failed (5xx), asked us to slow down (429), or
    refused for a reason that passes (no available balance yet): trying again
    later may work. A wrong API key is here too: the request itself is fine,
    so it is tried again once an operator has fixed the key."""


class GatewayRefused(GatewayError):
    """Stripe refused the request for good (4xx: e.g. a session that is no longer
    open, an unknown or disconnected account): the same request will never work."""


class GatewayIdempotencyError(GatewayRefused):
    """Stripe refused a request whose idempotency key was first used with other
    parameters: sending it again never works, it must be looked into."""


# Refusals (4xx) that pass with time: the same request may work later.
TEMPORARY_CODES = {"balance_insufficient", "lock_timeout", "rate_limit"}


# Stripe refuses a Checkout Session for less than this in euros (its minimum charge).
CHECKOUT_MINIMUM = Decimal("0.50")


def checkout_accepts(amount: Decimal) -> bool:
    """Whether Stripe takes ``amount`` as a Checkout total (nothing to pay asks nothing of it)."""
    return amount <= 0 or amount >= CHECKOUT_MINIMUM


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


# Some calls are made while rows are locked (a transfer, under its paid session's
# lock): a stalled Stripe must not hold them, and the webhooks and jobs waiting
# on them, for minutes (the library's default is 80 s per try). At most
# ``settings.STRIPE_TIMEOUT`` seconds per try and ``STRIPE_NETWORK_RETRIES``
# retry: about ten seconds in all by default; what did not get through is
# tried again by the job's next try.


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeout: float, retries: int) -> stripe.StripeClient:
    # Retried requests keep their idempotency key: retrying is always safe.
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=retries,
        http_client=stripe.new_default_http_client(timeout=timeout),
    )


def client() -> stripe.StripeClient:
    """The client for the configured key and API base (read each time: tests change them)."""
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_TIMEOUT,
        settings.STRIPE_NETWORK_RETRIES,
    )


def _call(action: str, request):
    outside_requests(f"Stripe ({action})")
    try:
        answer = request()
    except (stripe.InvalidRequestError, stripe.PermissionError, stripe.CardError) as error:
        logger.warning("Stripe refused %s: %s", action, error.user_message or error)
        kind = GatewayUnavailable if error.code in TEMPORARY_CODES else GatewayRefused
        raise kind(str(error.user_message or error), http_status=error.http_status) from error
    except stripe.IdempotencyError as error:
        logger.error("Stripe refused %s (idempotency key reused): %s", action, error)
        status = error.http_status or 400
        raise GatewayIdempotencyError(str(error), http_status=status) from error
    except stripe.StripeError as error:
        if _refused(error):
            logger.warning("Stripe refused %s (HTTP %s): %s", action, error.http_status, error)
            raise GatewayRefused(str(error), http_status=error.http_status) from error
        logger.warning("Stripe failed %s: %s", action, error)
        raise GatewayUnavailable(str(error), http_status=error.http_status) from error
    return answer.to_dict() if hasattr(answer, "to_dict") else answer


def _refused(error: stripe.StripeError) -> bool:
    """A 4xx the library could not read as one of Stripe's errors (a plain-text or
    HTML body, from Stripe or a proxy before it): Stripe did nothing, and the same
    request will not work later. A wrong API key (401) is left to be fixed, and a
    409 or 429 to be tried again, as `GatewayError.not_done` says."""
    if isinstance(error, stripe.AuthenticationError):
        return False
    return GatewayError(http_status=error.http_status).not_done and error.http_status != 401


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


def checkout_session_for_intent(payment_intent: str) -> dict | None:
    """The Checkout Session that made ``payment_intent``; None when none did."""
    params = {"payment_intent": payment_intent, "limit": 1}
    found = _call("session search", lambda: client().v1.checkout.sessions.list(params))
    return found["data"][0] if found.get("data") else None


def charge_of_intent(payment_intent: str) -> dict | None:
    """The charge that paid ``payment_intent`` (``amount_refunded``: refunded so far)."""
    params = {"payment_intent": payment_intent, "limit": 10}
    found = _call("charge list", lambda: client().v1.charges.list(params))
    return next((c for c in found.get("data", []) if c.get("status") == "succeeded"), None)


def refunds_of_intent(payment_intent: str) -> list[dict]:
    """Every refund made on ``payment_intent``, whatever its status."""
    params = {"payment_intent": payment_intent, "limit": 100}
    return _call(
        "refund list",
        lambda: [r.to_dict() for r in client().v1.refunds.list(params).auto_paging_iter()],
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


def payment_intent_retrieve(intent_id: str) -> dict:
    """The PaymentIntent as Stripe sees it now (``latest_charge``: the charge that paid it)."""
    return _call("payment intent", lambda: client().v1.payment_intents.retrieve(intent_id))


def transfer_create(
    *,
    amount: Decimal,
    destination: str,
    transfer_group: str,
    source_transaction: str,
    idempotency_key: str,
    metadata: dict,
) -> dict:
    """Send ``amount`` to a connected account (a producer's share of a payment).

    ``source_transaction``, the charge of the payment, lets Stripe send it
    before the card money is available in the balance.
    """
    params = {
        "amount": to_cents(amount),
        "currency": CURRENCY,
        "destination": destination,
        "transfer_group": transfer_group,
        "metadata": metadata,
    }
    if source_transaction:
        params["source_transaction"] = source_transaction
    return _call(
        "transfer",
        lambda: client().v1.transfers.create(params, {"idempotency_key": idempotency_key}),
    )


def transfers_list(*, transfer_group: str, destination: str) -> list[dict]:
    """The transfers of a transfer group to one account (what was sent, whatever we recorded)."""
    params = {"transfer_group": transfer_group, "destination": destination, "limit": 100}
    return _call(
        "transfer list",
        lambda: [t.to_dict() for t in client().v1.transfers.list(params).auto_paging_iter()],
    )


def transfer_retrieve(transfer_id: str) -> dict:
    """The transfer as Stripe sees it now (``amount_reversed``: taken back so far)."""
    return _call("transfer retrieve", lambda: client().v1.transfers.retrieve(transfer_id))


def transfer_reversal_create(
    *, transfer_id: str, amount: Decimal, idempotency_key: str, metadata: dict
) -> dict:
    """Take ``amount`` of a transfer back from the connected account."""
    params = {"amount": to_cents(amount), "metadata": metadata}
    return _call(
        "transfer reversal",
        lambda: client().v1.transfers.reversals.create(
            transfer_id, params, {"idempotency_key": idempotency_key}
        ),
    )


def charge_of(intent: Mapping) -> str:
    """The charge that paid a PaymentIntent, if any yet (an id, or the expanded charge)."""
    charge = intent.get("latest_charge") or ""
    return charge.get("id", "") if isinstance(charge, Mapping) else charge

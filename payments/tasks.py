"""The payments app's jobs: every call to Stripe but the webhook's.

Each is deferred, with its row's lock, in the transaction that decides it
(`payments.stripe.deferred`), and is idempotent: it reads its row, does nothing
when the effect is done already, and keeps the idempotency keys and the
look-up-before-resend rule of the module it calls. Stripe failing or out of
reach raises `cagette.jobs.Temporary` (tried again with `RETRY`'s backoff, for
a day); Stripe refusing is recorded on the row, shown to the admin, and the
job stops.
"""

from procrastinate.contrib.django import app

from cagette.jobs import RETRY

from .stripe import deferred, opening
from .stripe.payout_sending import payout_reversal_send as _payout_reversal_send
from .stripe.payout_sending import payout_send as _payout_send
from .stripe.refunds import refund_deliver


@app.task(name=deferred.PAYOUT_SEND, retry=RETRY)
def payout_send(transfer_id: int, first: bool = False) -> None:
    """Send a producer's transfer (`payments.stripe.payouts`)."""
    _payout_send(transfer_id, first=first)


@app.task(name=deferred.PAYOUT_REVERSAL_SEND, retry=RETRY)
def payout_reversal_send(transfer_id: int) -> None:
    """Take back at Stripe what refunds took back of a sent transfer."""
    _payout_reversal_send(transfer_id)


@app.task(name=deferred.REFUND_SEND, retry=RETRY)
def refund_send(refund_id: int, first: bool = False) -> None:
    """Ask Stripe for a refund asked from the basket page (`payments.stripe.refunds`)."""
    refund_deliver(refund_id, first=first)


@app.task(name=deferred.CHECKOUT_OPEN, retry=RETRY)
def checkout_open(checkout_id: int, success_url: str, cancel_url: str) -> None:
    """Open the client's Checkout Session (`payments.stripe.opening`)."""
    opening.checkout_session_open(checkout_id, success_url=success_url, cancel_url=cancel_url)


@app.task(name=deferred.CHECKOUT_REFRESH, retry=RETRY)
def checkout_refresh(checkout_id: int) -> None:
    """Settle a session the client came back from, as Stripe sees it now."""
    opening.checkout_refresh(checkout_id)


@app.task(name=deferred.CHECKOUT_EXPIRE, retry=RETRY)
def checkout_expire(checkout_id: int) -> None:
    """Close a session the client no longer pays on."""
    opening.checkout_close(checkout_id)

"""Settle what Stripe's webhooks never told us: ask Stripe (``stripe_reconcile``).

Run every 15 minutes by a periodic job (`payments.tasks`), and by hand with
``manage.py stripe_reconcile``. Each session still open or in process after
``minutes`` is looked up at Stripe and settled exactly as its webhook would
have settled it: a paid one is received (once, whatever comes later), an
expired one cancelled; one still open or in process is left as it is and
looked at again next time.

Refunds are caught up too. A refund request whose answer from Stripe was
lost (a timeout) is looked up at Stripe, and sent again with the same
idempotency key when Stripe did not make it. Then each paid session opened in
the last ``refund_days`` days that can still be refunded, or that has a
refund not final yet (even a full one), has its charge's refunds compared
with ours, refund by refund: a refund whose event never came (one made in
Stripe's dashboard, say) is posted, one that failed is reversed. That is one
request to Stripe per such session.

Transfers to producers that could not be sent (Stripe failed or could not be
reached) are looked up at Stripe, and sent again when Stripe did not make
them; so are the reversals of transfers that refunds took back. What Stripe
refused for good is not.

Whatever Stripe failed (or could not be reached for) is logged at ERROR, one
line each, and listed in the outcome's ``failures``; the next run tries again.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from ..models import CheckoutStatus, StripeCheckout
from .checkout import checkout_sync
from .gateway import GatewayError
from .payout_sending import payout_reversals_retry, payouts_failing, payouts_retry
from .refund_events import refund_check, refunds_to_check
from .refunds import ImpossibleRefund, RefundTooEarly, refund_resend, refunds_awaited

logger = logging.getLogger(__name__)


@dataclass
class Reconciliation:
    """What a run did (``done``), what it could not do (``failures``: tried again
    next run) and the refusals it met (``refused``: final, shown to the admin)."""

    done: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def failed(self, what: str) -> None:
        self.failures.append(what)
        logger.error("stripe_reconcile: %s", what)


def stripe_reconcile(*, minutes: int = 30, refund_days: int = 90) -> Reconciliation:
    """Look up at Stripe what its webhooks did not settle, and settle it (see the module)."""
    outcome = Reconciliation()
    _sessions(outcome, minutes)
    _refunds_awaited(outcome)
    _refunds_compared(outcome, timezone.now() - timedelta(days=max(refund_days, 0)))
    _transfers(outcome)
    return outcome


def _sessions(outcome: Reconciliation, minutes: int) -> None:
    cutoff = timezone.now() - timedelta(minutes=max(minutes, 0))
    waiting = StripeCheckout.objects.filter(
        status__in=[CheckoutStatus.OPEN, CheckoutStatus.PROCESSING], created_at__lte=cutoff
    ).order_by("pk")
    counts = {status: 0 for status in CheckoutStatus.values}
    for checkout in waiting:
        try:
            checkout = checkout_sync(checkout)
        except GatewayError as error:
            outcome.failed(f"session {checkout.session_id}: {error}")
            continue
        counts[checkout.status] += 1
    summary = ", ".join(f"{status}: {count}" for status, count in counts.items() if count)
    outcome.done.append(f"{sum(counts.values())} session(s) checked. {summary}".strip())


def _transfers(outcome: Reconciliation) -> None:
    """Transfers and reversals not made yet: asked again; those still failing, reported."""
    retried = payouts_retry()
    if retried:
        outcome.done.append(f"{retried} transfer(s) to producers sent.")
    reversed_ = payout_reversals_retry()
    if reversed_:
        outcome.done.append(f"{reversed_} transfer reversal(s) made.")
    for row in payouts_failing():
        if row.status == "failed":
            outcome.failed(f"transfer {row.pk} to {row.destination}: {row.error}")
        else:
            outcome.failed(f"reversal of transfer {row.pk}: {row.reversal_error}")


def _refunds_awaited(outcome: Reconciliation) -> None:
    """Refund requests whose answer was lost: the refund Stripe made, or asked again."""
    answered = 0
    for refund in refunds_awaited():
        try:
            refund = refund_resend(refund)
        except GatewayError as error:  # refused: marked failed, the admin sees it
            outcome.refused.append(f"refund request {refund.pk} refused: {error}")
            continue
        if refund.refund_id:
            answered += 1
        else:
            outcome.failed(f"refund request {refund.pk}: Stripe's answer still awaited")
    if answered:
        outcome.done.append(f"{answered} refund request(s) answered by Stripe.")


def _refunds_compared(outcome: Reconciliation, since) -> None:
    """Refunds whose event never came (or failures): posted, or reversed."""
    caught = 0
    for checkout in refunds_to_check(since):
        try:
            caught += refund_check(checkout)
        except (GatewayError, RefundTooEarly, ImpossibleRefund) as error:
            outcome.failed(f"refunds of session {checkout.session_id}: {error}")
    if caught:
        outcome.done.append(f"{caught} session(s) with refunds caught up.")

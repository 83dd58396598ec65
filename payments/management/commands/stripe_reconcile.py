"""Settle the online payments whose webhook never came: ask Stripe for their sessions.

Run it on a schedule (every 15 minutes, say). Each session still open or in
process after ``--minutes`` is looked up at Stripe and settled exactly as its
webhook would have settled it: a paid one is received (once, whatever comes
later), an expired one cancelled; one still open or in process is left as it
is and looked at again next time.

Refunds are caught up too. A refund request whose answer from Stripe was
lost (a timeout) is looked up at Stripe, and sent again with the same
idempotency key when Stripe did not make it. Then each paid session opened in
the last ``--refund-days`` days that can still be refunded, or that has a
refund not final yet (even a full one), has its charge's refunds compared
with ours, refund by refund: a refund whose event never came (one made in
Stripe's dashboard, say) is posted, one that failed is reversed. That is one
request to Stripe per such session.

Transfers to producers that could not be sent (Stripe failed or could not be
reached) are looked up at Stripe, and sent again when Stripe did not make
them; so are the reversals of transfers that refunds took back. What Stripe
refused for good is not.

Whatever Stripe failed (or could not be reached for) is logged and written to
stderr, one line each, and the command then exits non-zero, so that the
scheduler running it shows the failure; the next run tries again.
"""

import logging
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from payments.models import CheckoutStatus, StripeCheckout
from payments.stripe.checkout import checkout_sync
from payments.stripe.gateway import GatewayError
from payments.stripe.payout_sending import payout_reversals_retry, payouts_failing, payouts_retry
from payments.stripe.refund_events import refund_check, refunds_to_check
from payments.stripe.refunds import (
    ImpossibleRefund,
    RefundTooEarly,
    refund_resend,
    refunds_awaited,
)

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Look up at Stripe the online payments still pending after N minutes and settle them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--minutes",
            type=int,
            default=30,
            help="Only sessions opened at least this long ago (default: 30).",
        )
        parser.add_argument(
            "--refund-days",
            type=int,
            default=90,
            help="Compare the refunds of sessions paid in the last N days (default: 90).",
        )

    def handle(self, *args, minutes=30, refund_days=90, **options):
        self.failures: list[str] = []
        self._sessions(minutes)
        self._refunds_awaited()
        self._refunds_compared(timezone.now() - timedelta(days=max(refund_days, 0)))
        self._transfers()
        if self.failures:
            raise CommandError(
                f"{len(self.failures)} Stripe call(s) failed; they are tried again next run."
            )

    def _failed(self, what: str) -> None:
        self.failures.append(what)
        logger.error("stripe_reconcile: %s", what)
        self.stderr.write(what)

    def _sessions(self, minutes: int) -> None:
        cutoff = timezone.now() - timedelta(minutes=max(minutes, 0))
        waiting = StripeCheckout.objects.filter(
            status__in=[CheckoutStatus.OPEN, CheckoutStatus.PROCESSING], created_at__lte=cutoff
        ).order_by("pk")
        outcome = {status: 0 for status in CheckoutStatus.values}
        for checkout in waiting:
            try:
                checkout = checkout_sync(checkout)
            except GatewayError as error:
                self._failed(f"session {checkout.session_id}: {error}")
                continue
            outcome[checkout.status] += 1
        summary = ", ".join(f"{status}: {count}" for status, count in outcome.items() if count)
        self.stdout.write(f"{sum(outcome.values())} session(s) checked. {summary}".strip())

    def _transfers(self) -> None:
        """Transfers and reversals not made yet: asked again; those still failing, reported."""
        retried = payouts_retry()
        if retried:
            self.stdout.write(f"{retried} transfer(s) to producers sent.")
        reversed_ = payout_reversals_retry()
        if reversed_:
            self.stdout.write(f"{reversed_} transfer reversal(s) made.")
        for row in payouts_failing():
            if row.status == "failed":
                self._failed(f"transfer {row.pk} to {row.destination}: {row.error}")
            else:
                self._failed(f"reversal of transfer {row.pk}: {row.reversal_error}")

    def _refunds_awaited(self) -> None:
        """Refund requests whose answer was lost: the refund Stripe made, or asked again."""
        answered = 0
        for refund in refunds_awaited():
            try:
                refund = refund_resend(refund)
            except GatewayError as error:  # refused: marked failed, the admin sees it
                self.stderr.write(f"refund request {refund.pk} refused: {error}")
                continue
            if refund.refund_id:
                answered += 1
            else:
                self._failed(f"refund request {refund.pk}: Stripe's answer still awaited")
        if answered:
            self.stdout.write(f"{answered} refund request(s) answered by Stripe.")

    def _refunds_compared(self, since) -> None:
        """Refunds whose event never came (or failures): posted, or reversed."""
        caught = 0
        for checkout in refunds_to_check(since):
            try:
                caught += refund_check(checkout)
            except (GatewayError, RefundTooEarly, ImpossibleRefund) as error:
                self._failed(f"refunds of session {checkout.session_id}: {error}")
        if caught:
            self.stdout.write(f"{caught} session(s) with refunds caught up.")

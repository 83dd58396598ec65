"""Settle the online payments whose webhook never came: ask Stripe for their sessions.

Run it on a schedule (every 15 minutes, say). Each session still open or in
process after ``--minutes`` is looked up at Stripe and settled exactly as its
webhook would have settled it: a paid one is received (once, whatever comes
later), an expired one cancelled; one still open or in process is left as it
is and looked at again next time.

Transfers to producers that could not be sent (Stripe failed or could not be
reached) are sent again, with the same idempotency key.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from payments.models import CheckoutStatus, StripeCheckout
from payments.online import checkout_sync
from payments.producer_transfers import transfers_retry
from payments.stripe_gateway import GatewayError


class Command(BaseCommand):
    help = "Look up at Stripe the online payments still pending after N minutes and settle them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--minutes",
            type=int,
            default=30,
            help="Only sessions opened at least this long ago (default: 30).",
        )

    def handle(self, *args, minutes=30, **options):
        cutoff = timezone.now() - timedelta(minutes=max(minutes, 0))
        waiting = StripeCheckout.objects.filter(
            status__in=[CheckoutStatus.OPEN, CheckoutStatus.PROCESSING], created_at__lte=cutoff
        ).order_by("pk")
        outcome = {status: 0 for status in CheckoutStatus.values}
        failures = 0
        for checkout in waiting:
            try:
                checkout = checkout_sync(checkout)
            except GatewayError as error:
                failures += 1
                self.stderr.write(f"{checkout.session_id}: {error}")
                continue
            outcome[checkout.status] += 1
        summary = ", ".join(f"{status}: {count}" for status, count in outcome.items() if count)
        self.stdout.write(f"{sum(outcome.values())} session(s) checked. {summary}".strip())
        if failures:
            self.stderr.write(f"{failures} session(s) could not be checked; run again later.")
        retried = transfers_retry()
        if retried:
            self.stdout.write(f"{retried} transfer(s) to producers sent.")

"""``manage.py stripe_reconcile``: settle the online payments whose webhook never came.

The job queue runs the same reconciliation every 15 minutes
(`payments.stripe.reconcile`, which says what it does); this command runs it
by hand. What Stripe failed (or could not be reached for) is written to
stderr, one line each, and the command then exits non-zero; the next run
tries again.
"""

from django.core.management.base import BaseCommand, CommandError

from payments.stripe.reconcile import stripe_reconcile


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
        outcome = stripe_reconcile(minutes=minutes, refund_days=refund_days)
        for line in outcome.done:
            self.stdout.write(line)
        for line in [*outcome.refused, *outcome.failures]:
            self.stderr.write(line)
        if outcome.failures:
            raise CommandError(
                f"{len(outcome.failures)} Stripe call(s) failed; they are tried again next run."
            )

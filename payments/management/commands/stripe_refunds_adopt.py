"""``manage.py stripe_refunds_adopt [--dry-run]``: run once on a database upgraded from
before payments migration 0010 (`payments.stripe.adopt`).

Each online session whose refunds were posted as a running total, and are not
all in rows marked posted, has Stripe's refunds given rows, oldest first, up to
what the old postings hold; nothing is posted. A second run finds nothing to do.
Exits non-zero when Stripe cannot be reached (run it again) or when a session's
old postings hold more than Stripe lists (a person must look: it is printed).
"""

from django.core.management.base import BaseCommand, CommandError

from payments.stripe.adopt import Adoption, session_adopt, sessions_to_adopt
from payments.stripe.gateway import GatewayError


class Command(BaseCommand):
    help = (
        "Give their own rows to online refunds posted as a running total before "
        "payments migration 0010 (run once after upgrading such a database)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would be written, write nothing"
        )

    def handle(self, *args, dry_run=False, **options):
        adopted = to_look_into = unreachable = 0
        for checkout in sessions_to_adopt():
            try:
                adoption = session_adopt(checkout, dry_run=dry_run)
            except GatewayError as error:
                unreachable += 1
                self.stderr.write(f"{_session(checkout)}: Stripe could not be asked ({error}).")
                continue
            if adoption.complete:
                adopted += bool(adoption.rows)
                self.stdout.write(self._adopted(adoption, dry_run))
            else:
                to_look_into += 1
                self.stderr.write(self.style.ERROR(_to_look_into(adoption)))
        self.stdout.write(_summary(adopted, dry_run))
        if to_look_into or unreachable:
            raise CommandError(
                f"{to_look_into} session(s) to look into by hand, {unreachable} session(s) "
                "Stripe could not be asked for (run the command again)."
            )

    def _adopted(self, adoption: Adoption, dry_run: bool) -> str:
        if not adoption.rows:
            return f"{_session(adoption.checkout)}: adopted meanwhile, nothing to do."
        refunds = ", ".join(_refund(row) for row in adoption.rows)
        done = "would be marked posted (dry run)" if dry_run else "marked posted"
        return self.style.SUCCESS(
            f"{_session(adoption.checkout)}: {adoption.adopted} refunded as a running total "
            f"is Stripe's refund(s) {refunds}: {done}, nothing posted again."
        )


def _session(checkout) -> str:
    market = checkout.received_payment.membership.market
    return f"Session {checkout.session_id} ({market.slug}, payment #{checkout.received_payment_id})"


def _refund(row) -> str:
    # Rows of refunds made in Stripe's dashboard are keyed on Stripe's id.
    made_there = row.idempotency_key.startswith("stripe:")
    return f"{row.refund_id} {row.amount} {row.status}" + (
        " (made in Stripe's dashboard)" if made_there else ""
    )


def _to_look_into(adoption: Adoption) -> str:
    return (
        f"{_session(adoption.checkout)}: the refunded total holds {adoption.missing} "
        f"and the old running-total postings {adoption.held} beyond the refunds marked "
        f"posted, but Stripe lists {adoption.adopted} of refunds to account for it: "
        "nothing written; look into it by hand (Stripe's dashboard, the ledger)."
    )


def _summary(adopted: int, dry_run: bool) -> str:
    if dry_run:
        return f"Dry run: {adopted} session(s) would be adopted; nothing was written."
    return f"{adopted} session(s) adopted."

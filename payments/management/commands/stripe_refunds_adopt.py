"""``manage.py stripe_refunds_adopt [--dry-run]``: refunds posted as a running total,
before payments migration 0010, given rows of their own (run once after such an upgrade).

Before 0010 a refund was posted as the growth of its charge's running total
(idempotency key ``stripe-refund:<charge>:<total cents>``), not under its own id.
Migration 0010 marked posted the rows it could (requests Stripe had answered),
but a refund made in Stripe's dashboard had no row, and a request whose answer
the old code lost was marked failed: their money is in the ledger, their rows
are missing or not marked posted, and only Stripe knows their ids.

`session_adopt` asks Stripe for the session's refunds and gives rows, oldest
first, to what its old postings hold beyond its rows marked posted: each row
gets its refund's id and status and is marked posted, and nothing is posted
(the money is in the ledger already). A session whose old postings hold more
than Stripe lists is left as it is, for a person to look into. Until a session
is adopted, the refund path refuses it (`refund_events.RefundsNotAdopted`) and
``check_ledger`` lists it (`ledger.checks.refunds_without_rows`).

The command exits non-zero when Stripe cannot be reached (run it again) or when a
session's old postings hold more than Stripe lists (a person must look: it is printed).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q, QuerySet, Sum

from cagette.money import ZERO
from payments.ledger import market_account
from payments.ledger.checks import refunds_without_rows
from payments.models import AccountKind, Entry, RefundStatus, StripeCheckout, StripeRefund
from payments.stripe import gateway
from payments.stripe.gateway import GatewayError
from payments.stripe.refund_events import failed_key, posting_key, refund_row, refunds_in_order
from payments.stripe.refunds import status_from


@dataclass
class Adoption:
    """What adopting one session finds, in the ledger and at Stripe.

    ``missing``: its refunded total less its rows marked posted; ``held``: what its
    old running-total postings hold beyond those rows (the same, on sound books);
    ``rows``: the refunds Stripe lists that take it up, oldest first.
    """

    checkout: StripeCheckout
    missing: Decimal
    held: Decimal
    rows: list[StripeRefund] = field(default_factory=list)

    @property
    def adopted(self) -> Decimal:
        return sum((row.amount for row in self.rows), ZERO)

    @property
    def complete(self) -> bool:
        """Whether Stripe's refunds account for the whole of what is missing."""
        return self.adopted == self.held == self.missing


def sessions_to_adopt() -> QuerySet[StripeCheckout]:
    """Sessions whose refunded total holds refunds without rows marked posted."""
    sessions = StripeCheckout.objects.select_related("received_payment__membership__market")
    return refunds_without_rows(sessions).order_by("pk")


def session_adopt(checkout: StripeCheckout, *, dry_run: bool = False) -> Adoption:
    """Give the session's refunds posted as a running total their rows, marked posted.

    Written only when the adoption is complete (`Adoption.complete`), and not with
    ``dry_run``; nothing is posted. Raises `GatewayError` when Stripe cannot be
    asked.
    """
    intent = checkout.payment_intent
    refunds = refunds_in_order(gateway.refunds_of_intent(intent)) if intent else []
    with transaction.atomic():
        # The session's lock, then its rows': as wherever refunds change.
        checkout = (
            StripeCheckout.objects.select_for_update(of=("self",))
            .select_related("received_payment__membership__market")
            .get(pk=checkout.pk)
        )
        adoption = _adoption_plan(checkout, refunds)
        if adoption.complete and not dry_run:
            for row in adoption.rows:
                row.save()
    return adoption


def _adoption_plan(checkout: StripeCheckout, refunds: list[Mapping]) -> Adoption:
    """The rows Stripe's refunds (oldest first) give to what the old postings hold:
    each refund not failed and without a row marked posted, while it fits."""
    posted = _rows_posted(checkout)
    adoption = Adoption(
        checkout,
        missing=checkout.refunded - posted,
        held=_held(checkout, refunds) - posted,
    )
    left = adoption.held
    for refund in refunds:
        row = refund_row(checkout, refund)
        status = status_from(row, refund.get("status"))
        if row.posted or status == RefundStatus.FAILED:
            continue
        if row.amount > left:
            break  # made after the running total: the regular path posts it
        row.refund_id, row.status, row.posted = refund["id"], status, True
        adoption.rows.append(row)
        left -= row.amount
    return adoption


def _rows_posted(checkout: StripeCheckout) -> Decimal:
    """The session's refunds marked posted, those that failed afterwards left out."""
    rows = checkout.refund_requests.filter(posted=True).exclude(status=RefundStatus.FAILED)
    return rows.aggregate(total=Sum("amount"))["total"] or ZERO


def _held(checkout: StripeCheckout, refunds: list[Mapping]) -> Decimal:
    """What the ledger holds as refunded on the session: its rows' own postings (net
    of their failures) and the running totals of its charges (as Stripe names them)."""
    rows = list(checkout.refund_requests.exclude(refund_id=""))
    keys = [posting_key(row) for row in rows] + [failed_key(row) for row in rows]
    charges = {checkout.charge_id, *(str(r.get("charge") or "") for r in refunds)} - {""}
    match = Q(transaction__idempotency_key__in=keys)
    for charge in charges:
        match |= Q(transaction__idempotency_key__startswith=f"stripe-refund:{charge}:")
    market = checkout.received_payment.membership.market
    online = market_account(market, AccountKind.ONLINE)
    entries = Entry.objects.filter(match, account=online)
    return -(entries.aggregate(total=Sum("amount"))["total"] or ZERO)


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

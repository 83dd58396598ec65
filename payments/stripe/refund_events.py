"""Stripe's word on refunds, refund by refund: posted once, reversed once if the
refund fails afterwards, and compared with Stripe by ``manage.py stripe_reconcile``
(asking for a refund is `payments.stripe.refunds`).

Only the refunds' rows are read. A session refunded before payments migration
0010, whose refunds were posted as a running total, has refunds in the ledger
without rows marked posted: it is refused (`RefundsNotAdopted`) until
``manage.py stripe_refunds_adopt`` gives them rows, since posting its refunds
again would refund them twice in the books.
"""

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cagette.i18n import stored_language
from cagette.money import ZERO

from ..ledger import (
    Leg,
    client_account,
    market_account,
    retried_on_conflict,
    transaction_post,
    transaction_reverse,
)
from ..ledger.checks import ADOPT_COMMAND, refunds_without_rows
from ..models import (
    AccountKind,
    CheckoutStatus,
    Payment,
    RefundStatus,
    StripeCheckout,
    StripeRefund,
    Transaction,
    TransactionKind,
)
from . import gateway
from .checkout import checkout_apply, checkout_sync
from .payout_sending import payment_accounts_lock
from .payouts import payouts_reverse
from .refunds import (
    UNFINISHED,
    ImpossibleRefund,
    RefundTooEarly,
    status_from,
)

logger = logging.getLogger(__name__)


class RefundsNotAdopted(RefundTooEarly):
    """A session whose refunds were posted as a running total (before payments
    migration 0010) and have no rows of their own yet: its refunds are left for
    later (an event is delivered again) until ``manage.py stripe_refunds_adopt``
    has run, rather than posted a second time."""


def refund_apply(charge: Mapping) -> StripeCheckout | None:
    """``charge.refunded`` (or reconciliation): bring each refund of the charge in line.

    None for a charge that is not ours. Raises `RefundTooEarly` for one of our
    sessions Stripe does not say is paid yet, `GatewayError` when Stripe must
    be asked and cannot be.
    """
    checkout = _paid_checkout_of(charge.get("payment_intent"), charge.get("id"))
    if checkout is None:
        return None
    return _refunds_apply(checkout, _refunds_listed(charge))


def refund_update(refund: Mapping) -> StripeCheckout | None:
    """``charge.refund.updated``, ``refund.updated``: one refund changed (succeeded, failed)."""
    checkout = _paid_checkout_of(refund.get("payment_intent"), refund.get("charge"))
    if checkout is None or not _is_refund(refund):
        return None
    return _refunds_apply(checkout, [refund])


def _paid_checkout_of(intent: str | None, charge_id: str | None) -> StripeCheckout | None:
    """Our paid session behind a charge; None when the charge is not ours.

    A refund may come before we know its session is paid (that event delayed,
    the refund made in Stripe's dashboard): Stripe is asked how the session
    stands, and it is settled first.
    """
    checkout = StripeCheckout.objects.filter(payment_intent=intent).first() if intent else None
    if intent and (checkout is None or checkout.status != CheckoutStatus.PAID):
        checkout = _settle_first(intent, checkout)
    if checkout is None:
        logger.warning("Refund on charge %s: not a payment of ours", charge_id)
    return checkout


def _settle_first(intent: str, checkout: StripeCheckout | None) -> StripeCheckout | None:
    if checkout is not None:
        checkout = checkout_sync(checkout)
    else:
        session = gateway.checkout_session_for_intent(intent)
        checkout = checkout_apply(session) if session else None
    if checkout is not None and checkout.status != CheckoutStatus.PAID:
        raise RefundTooEarly(f"session {checkout.session_id} is {checkout.status}, not paid")
    return checkout


def _is_refund(refund) -> bool:
    """Shaped like a refund: an id and a whole number of cents."""
    if not isinstance(refund, Mapping) or not refund.get("id"):
        return False
    return isinstance(refund.get("amount"), int) and not isinstance(refund["amount"], bool)


def _refunds_listed(charge: Mapping) -> list[Mapping]:
    """The charge's refunds, oldest first: as the charge lists them, or asked to
    Stripe when it does not (recent API versions leave them out)."""
    listed = charge.get("refunds")
    complete = isinstance(listed, Mapping) and not listed.get("has_more")
    if complete and isinstance(listed.get("data"), list):
        refunds = listed["data"]
    else:
        refunds = gateway.refunds_of_intent(charge["payment_intent"])
    return refunds_in_order(refunds)


def refunds_in_order(refunds: list) -> list[Mapping]:
    """Refunds as Stripe lists them (newest first): those shaped like one, oldest first."""
    return [refund for refund in reversed(refunds) if _is_refund(refund)]


@retried_on_conflict
def _refunds_apply(checkout: StripeCheckout, refunds: list[Mapping]) -> StripeCheckout:
    """Each refund in line with Stripe, under the session's lock; the total follows."""
    with transaction.atomic():
        checkout = (
            StripeCheckout.objects.select_for_update(of=("self",))
            .select_related("received_payment__membership__market")
            .get(pk=checkout.pk)
        )
        _refuse_unadopted(checkout)
        # A refund's posting, then the producers' take-backs: see `ledger.accounts_lock`.
        payment_accounts_lock(checkout.received_payment)
        change = sum((_refund_apply(checkout, refund) for refund in refunds), ZERO)
        if checkout.refunded + change > checkout.amount:
            raise ImpossibleRefund(
                f"refunds of {checkout.refunded + change} on session {checkout.session_id} "
                f"of {checkout.amount}"
            )
        if change:
            checkout.refunded += change
            checkout.updated_at = timezone.now()
            checkout.save(update_fields=["refunded", "updated_at"])
        if change > 0:
            # The producers paid from this payment give back their part.
            payouts_reverse(checkout.received_payment, checkout.refunded)
    return checkout


def _refuse_unadopted(checkout: StripeCheckout) -> None:
    """Raise `RefundsNotAdopted` when the session's refunded total holds refunds
    without rows marked posted (posted as a running total, before migration 0010)."""
    if refunds_without_rows(StripeCheckout.objects.filter(pk=checkout.pk)).exists():
        logger.error(
            "Refunds of session %s refused: posted as a running total before payments "
            "migration 0010 and not adopted; run %s",
            checkout.session_id,
            ADOPT_COMMAND,
        )
        raise RefundsNotAdopted(
            f"session {checkout.session_id} has refunds posted as a running total "
            f"(before payments migration 0010) without rows: run {ADOPT_COMMAND}"
        )


def _refund_apply(checkout: StripeCheckout, refund: Mapping) -> Decimal:
    """One refund as Stripe tells it; what it changes in the refunded total.

    Its row's status moves forward. Accepted by Stripe (pending or succeeded:
    the charge counts it as refunded), it is posted once; failed after that,
    the posting is reversed once.
    """
    row = refund_row(checkout, refund)
    was_failed = row.status == RefundStatus.FAILED
    row.status = status_from(row, refund.get("status"))
    row.refund_id = refund["id"]
    change = ZERO
    if row.status != RefundStatus.FAILED and not row.posted:
        _post_refund(checkout.received_payment, row.amount, key=posting_key(row))
        row.posted, change = True, row.amount
    elif row.status == RefundStatus.FAILED and not was_failed and row.posted:
        _reverse_refund(checkout.received_payment, row)
        change = -row.amount
    row.save()
    return change


def refund_row(checkout: StripeCheckout, refund: Mapping) -> StripeRefund:
    """The row of a refund: found by its id, else by the request it answers (whose
    answer was lost), else a new one (a refund made in Stripe's dashboard)."""
    rows = checkout.refund_requests.select_for_update()
    row = rows.filter(refund_id=refund["id"]).first()
    asked = str((refund.get("metadata") or {}).get("refund_request", ""))
    if row is None and asked.isdigit():
        row = rows.filter(pk=int(asked), refund_id="").first()
    if row is None:
        row = StripeRefund(
            checkout=checkout,
            amount=gateway.from_cents(refund["amount"]),
            idempotency_key=f"stripe:{refund['id']}",
            requested_at=_made_at(refund),
        )
    return row


def _made_at(refund: Mapping) -> datetime:
    created = refund.get("created")
    return datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int) else timezone.now()


def posting_key(refund: StripeRefund) -> str:
    return f"stripe-refund:{refund.refund_id}"


def failed_key(refund: StripeRefund) -> str:
    return f"stripe-refund-failed:{refund.refund_id}"


def _post_refund(payment: Payment, amount: Decimal, *, key: str) -> None:
    """Money gone back to the card: online-payments account credited, client debited."""
    membership = payment.membership
    with stored_language():
        label = _("Remboursement carte bancaire en ligne")
    transaction_post(
        market=membership.market,
        kind=TransactionKind.REFUND,
        label=label,
        legs=[
            Leg(client_account(membership), amount),
            Leg(market_account(membership.market, AccountKind.ONLINE), -amount),
        ],
        posted_by=None,
        idempotency_key=key,
        order=payment.order,
    )


def _reverse_refund(payment: Payment, refund: StripeRefund) -> None:
    """The refund failed after it was posted: the money came back to the market."""
    market = payment.membership.market
    key = failed_key(refund)
    posted = Transaction.objects.filter(market=market, idempotency_key=posting_key(refund)).first()
    if posted is None:  # in a running total, before migration 0010 (stripe_refunds_adopt)
        _post_refund(payment, -refund.amount, key=key)
        return
    with stored_language():
        reason = str(_("Le remboursement a échoué chez Stripe : l'argent est revenu au marché."))
    transaction_reverse(txn=posted, reason=reason, idempotency_key=key)


# -- Reconciliation --------------------------------------------------------------------


def refunds_to_check(since: datetime) -> QuerySet[StripeCheckout]:
    """Paid sessions opened since ``since`` that can still be refunded, or whose
    refunds Stripe may still change (one pending can yet fail, even in full)."""
    open_refunds = Q(refund_requests__status__in=UNFINISHED) & ~Q(refund_requests__refund_id="")
    paid = StripeCheckout.objects.filter(status=CheckoutStatus.PAID, created_at__gte=since)
    paid = paid.filter(Q(refunded__lt=F("amount")) | open_refunds).distinct()
    return paid.exclude(payment_intent="").order_by("pk")


def refund_check(checkout: StripeCheckout) -> bool:
    """Whether Stripe's refunds on the session's charge differ from ours, refund by
    refund (an event lost); when they do, they are applied (`refund_apply`)."""
    charge = gateway.charge_of_intent(checkout.payment_intent)
    if charge is None:
        return False
    refunds = _refunds_listed(charge)
    total_differs = gateway.from_cents(charge.get("amount_refunded") or 0) != checkout.refunded
    if not total_differs and not any(_differs(checkout, refund) for refund in refunds):
        return False
    _refunds_apply(checkout, refunds)  # the session is paid: nothing to settle first
    return True


def _differs(checkout: StripeCheckout, refund: Mapping) -> bool:
    """Stripe tells of a refund we have no row for, or one further on than its row."""
    row = checkout.refund_requests.filter(refund_id=refund["id"]).first()
    return row is None or status_from(row, refund.get("status")) != row.status

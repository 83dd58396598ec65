"""Payouts by jobs: each producer's transfer asked of Stripe, retried, refused or
taken back (the rules and the planning are told in `payments.stripe.payouts`).

`payout_send` and `payout_reversal_send` are the bodies of the jobs of the same
names (`payments.tasks`), deferred in the transaction that decides them. Stripe
failing or out of reach marks the row failed (the admin sees it on
Encaissements) and raises `cagette.jobs.Temporary` once that is committed: the
queue tries again later, for a day. Stripe refusing for good marks it refused;
the job stops.

Also the accounts a payout flow posts to, locked first by every flow that
makes several postings (`payment_accounts_lock`).
"""

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cagette.i18n import stored_language
from cagette.jobs import Temporary
from cagette.money import ZERO

from ..ledger import (
    accounts_lock,
    client_account,
    market_account,
    sales_account,
    transaction_reverse,
)
from ..models import (
    AccountKind,
    Payment,
    ProducerTransfer,
    ProducerTransferStatus,
    StripeCheckout,
    Transaction,
    TransferReversalStatus,
)
from . import gateway
from .deferred import payout_reversal_send_defer, payout_send_defer
from .shares import (
    producer_totals,
)

logger = logging.getLogger(__name__)
Status = ProducerTransferStatus
Reversal = TransferReversalStatus
UNSENT = [Status.PENDING, Status.FAILED]
TO_REVERSE = [Reversal.PENDING, Reversal.FAILED]


# -- Locks: every account a flow may post to, first -------------------------------------


def payment_accounts_lock(payment: Payment) -> None:
    """Lock every account receiving or refunding ``payment`` may post to (in the lock order).

    Call at the start of a flow that makes several postings (the payment and
    its transfers, a refund and its take-backs): see `ledger.accounts_lock`.
    """
    market = payment.market
    accounts = [client_account(payment.membership), *transfer_accounts(market, payment)]
    accounts_lock(accounts)


def transfer_accounts(market, payment: Payment, producers=()) -> list:
    """The online and market sales accounts, and each connected producer's sales account."""
    producers = set(producers)
    if payment.order_id is not None and not producers:
        producers = {p for p in producer_totals(payment.order) if p.stripe_account_id}
        producers |= {row.producer for row in payment.producer_transfers.select_related("producer")}
    return [
        market_account(market, AccountKind.ONLINE),
        sales_account(market),
        *(sales_account(market, producer) for producer in producers),
    ]


def take_back_key(row: ProducerTransfer) -> str:
    return f"producer-transfer-reversal-{row.pk}-"


# -- Sending, by a job -------------------------------------------------------------------------


def _paid_checkout(payment_id: int) -> StripeCheckout | None:
    """The session that paid the payment, locked."""
    return StripeCheckout.objects.select_for_update().paid_for(payment_id).first()


def _locked(pk: int) -> ProducerTransfer:
    """The transfer under its lock, after its paid session's (see "Locks")."""
    _paid_checkout(ProducerTransfer.objects.values_list("payment_id", flat=True).get(pk=pk))
    return (
        ProducerTransfer.objects.select_for_update(of=("self",))
        .select_related("payment__market", "producer", "transaction")
        .get(pk=pk)
    )


def payout_send(pk: int, *, first: bool = False) -> None:
    """Ask Stripe for the transfer ``pk`` if not sent yet, less what refunds took back.

    ``first``: straight after it was planned, when no earlier attempt can have
    been made; any other time, Stripe is asked first whether one was. Raises
    `Temporary` when Stripe failed or could not be reached (the row says so).
    """
    error = _send(pk, first=first)
    if error is not None:
        raise Temporary(error)


def _send(pk: int, *, first: bool = False) -> str | None:
    """Send; the error when Stripe failed for now (the row marked failed), else None."""
    with transaction.atomic():
        row = _locked(pk)
        if row.status not in UNSENT:
            return None
        net = row.amount - row.reversed
        try:
            answer = _sent_already(row, net, first=first)
            if answer is None and net <= 0:
                _save(row, status=Status.CANCELLED)  # never made at Stripe: nothing to send
                return None
            answer = answer or _transfer_create(row, net)
        except gateway.GatewayIdempotencyError as error:
            answer = _found_at_stripe(row)
            if answer is None:
                _refuse(row, error)
                return None
        except gateway.GatewayRefused as error:
            _refuse(row, error)
            return None
        except gateway.GatewayError as error:
            logger.error("Stripe transfer %s to %s failed: %s", row.pk, row.destination, error)
            _save(row, status=Status.FAILED, error=str(error)[:2000], attempts=row.attempts + 1)
            return str(error) or type(error).__name__
        _sent(row, answer, net)
    return None


def _sent(row: ProducerTransfer, answer: dict, net: Decimal) -> None:
    _save(
        row,
        status=Status.SENT,
        transfer_id=answer.get("id", ""),
        sent_amount=gateway.from_cents(answer.get("amount", gateway.to_cents(net))),
        error="",
        sent_at=timezone.now(),
    )
    if _stripe_target(row) > row.reversed_at_stripe:  # sent in full after all
        _save(row, reversal_status=Reversal.PENDING)
        payout_reversal_send_defer(row.pk)


def _save(row: ProducerTransfer, **changes) -> None:
    for name, value in changes.items():
        setattr(row, name, value)
    row.save(update_fields=list(changes))


def _metadata(row: ProducerTransfer) -> dict:
    return {
        "payment_id": str(row.payment_id),
        "order_id": str(row.payment.order_id),
        "producer_id": str(row.producer_id),
        "market_id": str(row.payment.market_id),
        "commission": str(row.commission),
    }


def _sent_already(row: ProducerTransfer, net: Decimal, *, first: bool) -> dict | None:
    """Before any attempt but the very first: a transfer an earlier attempt made
    without our knowing (its answer lost, or the process stopped while it
    waited), found at Stripe.

    Resending under the same idempotency key is not enough: Stripe forgets a
    key after 24 hours (a retry a day later would pay twice) and, until then,
    replays a 500 it saved for it.
    """
    if first and row.status == Status.PENDING and net == row.amount:
        return None  # just planned: no attempt can have been made yet
    return _found_at_stripe(row)


def _found_at_stripe(row: ProducerTransfer) -> dict | None:
    """The transfer Stripe made for this row, if any (found by its metadata)."""
    try:
        sent = gateway.transfers_list(
            transfer_group=f"order-{row.payment.order_id}", destination=row.destination
        )
    except gateway.GatewayError as error:  # not a refusal of the transfer itself
        raise gateway.GatewayUnavailable(str(error)) from error
    mine = {"payment_id": str(row.payment_id), "producer_id": str(row.producer_id)}
    return next((t for t in sent if mine.items() <= (t.get("metadata") or {}).items()), None)


def _transfer_create(row: ProducerTransfer, net: Decimal) -> dict:
    key = row.idempotency_key
    if net != row.amount:
        key = f"{key}-{gateway.to_cents(net)}"
    if row.attempts:  # Stripe was just seen not to have made it: a key of its own
        key = f"{key}-attempt-{row.attempts + 1}"
    return gateway.transfer_create(
        amount=net,
        destination=row.destination,
        transfer_group=f"order-{row.payment.order_id}",
        source_transaction=_source(row),
        idempotency_key=key,
        metadata=_metadata(row),
    )


def _source(row: ProducerTransfer) -> str:
    """The charge that funds the transfer: the payment's, asked from Stripe once
    when the event lacked it, then kept on the row (even when none was found).

    Every attempt is sent under the same idempotency key, so it must be sent
    with the same parameters: Stripe refuses a key reused with others.
    """
    if row.source_transaction is not None:
        return row.source_transaction
    checkout = _paid_checkout(row.payment_id)
    if checkout is not None and not checkout.charge_id and checkout.payment_intent:
        try:
            intent = gateway.payment_intent_retrieve(checkout.payment_intent)
        except gateway.GatewayError as error:  # not a refusal of the transfer itself
            raise gateway.GatewayUnavailable(str(error)) from error
        checkout.charge_id = gateway.charge_of(intent)
        checkout.save(update_fields=["charge_id"])
    _save(row, source_transaction=checkout.charge_id if checkout else "")
    return row.source_transaction


def _refuse(row: ProducerTransfer, error: gateway.GatewayError) -> None:
    """Stripe will never send it: undo its postings, the market pays the producer as before."""
    logger.error("Stripe refused transfer %s to %s: %s", row.pk, row.destination, error)
    _save(row, status=Status.REFUSED, error=str(error)[:2000])
    accounts_lock(transfer_accounts(row.payment.market, row.payment, [row.producer]))
    with stored_language():
        reason = _("Versement refusé par Stripe : %(error)s") % {"error": str(error)[:500]}
    taken_back = Transaction.objects.filter(
        market_id=row.payment.market_id, idempotency_key__startswith=take_back_key(row)
    ).order_by("pk")
    for txn in [row.transaction, *taken_back]:
        key = f"producer-transfer-refused-{txn.pk}"
        transaction_reverse(txn=txn, reason=reason, idempotency_key=key)


def payouts_retry() -> int:
    """Send again the transfers not sent (failed, or pending after a crash); how many now sent.

    Run by ``manage.py stripe_reconcile``, never by a request. A job sending
    the same transfer meanwhile waits for the row's lock, then finds it sent.
    """
    unsent = ProducerTransfer.objects.filter(status__in=UNSENT).order_by("pk")
    ids = list(unsent.values_list("pk", flat=True))
    for pk in ids:
        _send(pk)  # what fails again stays failed, and is reported
    return ProducerTransfer.objects.filter(pk__in=ids, status=Status.SENT).count()


def payout_queue_again(pk: int) -> bool:
    """« Réessayer » on Encaissements: the job of a transfer, or of its reversal,
    that Stripe failed, queued again. False when there is nothing to queue: made
    meanwhile, refused, or a try already waiting (a double click asks once)."""
    row = ProducerTransfer.objects.get(pk=pk)
    with transaction.atomic():
        if row.status == Status.FAILED:
            return payout_send_defer(pk)
        if row.status == Status.SENT and row.reversal_status == Reversal.FAILED:
            return payout_reversal_send_defer(pk)
    return False


def payouts_failing() -> QuerySet[ProducerTransfer]:
    """Transfers and reversals Stripe failed (or could not be reached for) when last
    asked: tried again later, and reported by `stripe_reconcile` until they go through."""
    failing = Q(status=Status.FAILED) | Q(status=Status.SENT, reversal_status=Reversal.FAILED)
    return ProducerTransfer.objects.filter(failing).order_by("pk")


# -- Reversing at Stripe, by a job ----------------------------------------------------------


def _stripe_target(row: ProducerTransfer) -> Decimal:
    """What Stripe should have taken back in all: taken back, less what was never sent."""
    return row.reversed - (row.amount - (row.sent_amount or ZERO))


def payout_reversal_send(pk: int) -> None:
    """Ask Stripe to take back from the sent transfer ``pk`` what refunds took back since.

    Raises `Temporary` when Stripe failed or could not be reached (the row says so).
    """
    error = _send_reversal(pk)
    if error is not None:
        raise Temporary(error)


def _send_reversal(pk: int) -> str | None:
    with transaction.atomic():
        row = _locked(pk)
        if row.status != Status.SENT or row.reversal_status not in TO_REVERSE:
            return None
        target = _stripe_target(row)
        try:
            answer = _reversal_create(row, target)
        except gateway.GatewayError as error:
            refused = isinstance(error, gateway.GatewayRefused)
            logger.error("Stripe reversal of transfer %s failed: %s", row.pk, error)
            status = Reversal.REFUSED if refused else Reversal.FAILED
            attempts = row.reversal_attempts + (not refused)
            _save(
                row,
                reversal_status=status,
                reversal_error=str(error)[:2000],
                reversal_attempts=attempts,
            )
            return None if refused else (str(error) or type(error).__name__)
        _save(
            row,
            reversed_at_stripe=max(target, row.reversed_at_stripe),
            reversal_status=Reversal.SENT,
            reversal_id=answer.get("id", row.reversal_id) if answer else row.reversal_id,
            reversal_error="",
        )
    return None


def _reversal_create(row: ProducerTransfer, target: Decimal) -> dict | None:
    """Reverse what Stripe has not taken back yet (read from the transfer itself, so a
    reversal whose answer was lost is not made twice); None when nothing is left."""
    transfer = gateway.transfer_retrieve(row.transfer_id)
    done = gateway.from_cents(transfer.get("amount_reversed") or 0)
    if target <= done:
        return None
    key = f"transfer-reversal-{row.pk}-{gateway.to_cents(target)}"
    if row.reversal_attempts:  # seen above not to have been made: a key of its own
        key = f"{key}-attempt-{row.reversal_attempts + 1}"
    return gateway.transfer_reversal_create(
        transfer_id=row.transfer_id,
        amount=target - done,
        idempotency_key=key,
        metadata=_metadata(row),
    )


def payout_reversals_retry() -> int:
    """Ask again for the reversals Stripe has not made (failed, or pending after a crash)."""
    ids = list(
        ProducerTransfer.objects.filter(status=Status.SENT, reversal_status__in=TO_REVERSE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        _send_reversal(pk)
    return ProducerTransfer.objects.filter(pk__in=ids, reversal_status=Reversal.SENT).count()

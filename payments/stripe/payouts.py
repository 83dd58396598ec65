"""Several producers in one basket: each one's share of an online payment.

When an online payment for an order is received (`payments.online`), each
producer of the order who has a connected Stripe account
(`Producer.stripe_account_id`) is sent their share with a Stripe Transfer, in
the payment's transfer group (``order-<pk>``), less the market's commission
(`Market.stripe_commission_percent`). Producers without an account are paid by
the market as before: nothing happens for them here.

The share (`payments.producer_shares`)
--------------------------------------
A payment pays what is still unpaid on the order, per producer: each
producer's lines total less what the order's earlier online payments went to
them (connected or not; an earlier payment's transfer says what it gave its
producer, the rest is split again by this rule; refunds count as not paid).
The payment is split over those amounts in proportion when it does not cover
them all (``unpaid × paid ÷ total unpaid``, rounded down to the cent, so the
shares never add up to more than the payment; the cents left over stay with
the market); a payment larger than them sends no more than them. So a
complement paid for a salad goes to the salad's producer, not again to the
honey's. The commission is the share × the percentage, rounded to the cent
(half up); the producer is sent the rest.

In the ledger
-------------
One ``producer_transfer`` transaction per producer, keyed
``producer-transfer-<payment>-<producer>``: the producer's sales account is
debited by the share (the market owes them that much less), the
online-payments account credited by what leaves Stripe, and the market's own
sales account (no producer) credited by the commission it keeps.

Once
----
Everything is written in the database transaction that receives the payment,
which happens once (`checkout_apply` moves a session to « paid » once, under
its row lock); the `ProducerTransfer` rows are unique per payment and
producer, and the posting keyed. Stripe is called after commit, with the
idempotency key ``transfer-<payment>-<producer>``, naming the payment's charge
as ``source_transaction`` (card money is not available at once; a transfer
funded by the charge need not wait for it). A call that fails for a while
(network, 5xx, 429) marks the row failed; `payouts_retry` (run by
``manage.py stripe_reconcile``) tries again with the same parameters (the
charge is kept on the row from the first attempt). Any attempt but the very
first looks first at Stripe for a transfer an earlier one made (its answer
lost, or the process stopped while waiting), by the transfer group, the
destination and the metadata: the idempotency key alone does not protect a
retry, since Stripe forgets keys after 24 hours (a retry a day later would
pay again) and replays a saved 500 until then. Not found, it is sent under a
new key (``-attempt-<n>``). Stripe
refusing a key reused with other parameters is a refusal for good, unless
the transfer is found at Stripe. A call Stripe
refuses for good (4xx: an unknown or disconnected account...) marks it
refused and reverses its posting: the market owes the producer their share
and pays them as before; it is not tried again.

Refunds
-------
A refund confirmed by Stripe (`payments.stripe_refunds.refund_apply`) takes
back from each transfer of the payment its part of what was refunded so far:
``amount × refunded ÷ paid`` and ``commission × refunded ÷ paid``, rounded
down to the cent (all of it once fully refunded). Only the difference with
what was already taken back is posted (keyed on the running total), so
events arriving twice or out of order take back each cent once: the
online-payments account debited, the producer's sales account credited by the
share part, the market's own sales account debited by the commission part.
A transfer already sent is then reversed at Stripe after commit (key
``transfer-reversal-<transfer>-<cents reversed in all>``, retried like
transfers); one not sent yet is sent less what was taken back, or, when
nothing is left, cancelled once Stripe is asked whether an earlier attempt made
it (its answer lost, or the process stopped while waiting): if one did, the
row is marked sent and reversed like any other. A reversal Stripe refuses for
good is marked refused and shown on Encaissements: the market must get the
money back from the producer. What was taken back stays so if a refund fails
afterwards (the money is back with the market, which pays the producer as it
would any share it holds).

Locks
-----
Sending (and reversing) holds the paid session's row, then the transfer's,
for the duration of the call to Stripe: a refund being applied waits for it
(and the other way round), so a transfer is never sent in full while its
refund is being posted. The session first, as `refund_apply` and
`checkout_apply` do, so they cannot deadlock with it. A flow posting several
transactions at once locks all the accounts it may touch first, in id order
(`payment_accounts_lock`). Calls to Stripe give up after about ten seconds
(`stripe_gateway.TIMEOUT`), so a stalled Stripe does not hold these locks.
"""

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cagette.i18n import stored_language
from cagette.money import ZERO

from ..ledger import (
    Leg,
    accounts_lock,
    client_account,
    market_account,
    sales_account,
    transaction_post,
    transaction_reverse,
)
from ..models import (
    AccountKind,
    Payment,
    ProducerTransfer,
    ProducerTransferStatus,
    StripeCheckout,
    Transaction,
    TransactionKind,
    TransferReversalStatus,
)
from . import gateway
from .shares import (
    commission_of,
    part_of,
    producer_totals,
    shares_of,
    unpaid_before,
)

logger = logging.getLogger(__name__)
Status = ProducerTransferStatus
Reversal = TransferReversalStatus
UNSENT = [Status.PENDING, Status.FAILED]
TO_REVERSE = [Reversal.PENDING, Reversal.FAILED]


# -- Locks: every account a flow may post to, first -------------------------------------


def payment_accounts_lock(payment: Payment) -> None:
    """Lock, in id order, every account receiving or refunding ``payment`` may post to.

    Call at the start of a flow that makes several postings (the payment and
    its transfers, a refund and its take-backs): see `ledger.accounts_lock`.
    """
    market = payment.market
    accounts = [client_account(payment.membership), *_transfer_accounts(market, payment)]
    accounts_lock(accounts)


def _transfer_accounts(market, payment: Payment, producers=()) -> list:
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


# -- Planning: in the database transaction that receives the payment ---------------------


def payouts_plan(payment: Payment, *, charge: str = "") -> list[ProducerTransfer]:
    """Record the transfers of a just received online payment; Stripe is called after commit.

    ``charge``: the payment's charge, when known (else looked up before
    sending). Call inside the database transaction that receives the
    payment. Safe to call again: nothing is recorded or sent twice.
    """
    order = payment.order
    if order is None:
        return []
    totals = producer_totals(order)
    connected = sorted((p for p in totals if p.stripe_account_id), key=lambda p: p.pk)
    if not connected:
        return []
    shares = shares_of(unpaid_before(payment, totals), payment.amount)
    percent = payment.market.stripe_commission_percent or ZERO
    created = []
    for producer in connected:
        share = shares.get(producer, ZERO)
        if share <= 0 or payment.producer_transfers.filter(producer=producer).exists():
            continue
        commission = commission_of(share, percent)
        if share - commission <= 0:  # the market keeps it all: nothing to send
            continue
        created.append(_record(payment, producer, share, commission, charge))
    ids = [row.pk for row in created]
    if ids:
        transaction.on_commit(lambda: payouts_send(ids, first=True))
    return created


def _record(payment: Payment, producer, share: Decimal, commission: Decimal, charge: str):
    amount = share - commission
    market = payment.market
    legs = [
        Leg(sales_account(market, producer), share),
        Leg(market_account(market, AccountKind.ONLINE), -amount),
    ]
    if commission:
        legs.append(Leg(sales_account(market), -commission))
    with stored_language():
        label = _("Versement en ligne à %(producer)s — panier n° %(number)s") % {
            "producer": producer.name,
            "number": payment.order.number,
        }
    txn, _created = transaction_post(
        market=market,
        kind=TransactionKind.PRODUCER_TRANSFER,
        label=label,
        legs=legs,
        idempotency_key=f"producer-transfer-{payment.pk}-{producer.pk}",
        order=payment.order,
    )
    return ProducerTransfer.objects.create(
        payment=payment,
        producer=producer,
        destination=producer.stripe_account_id,
        share=share,
        commission=commission,
        amount=amount,
        transaction=txn,
        source_transaction=charge or None,  # else asked at the first attempt
    )


# -- Refunds: in the database transaction that posts them --------------------------------


def payouts_reverse(payment: Payment, refunded: Decimal) -> None:
    """Stripe confirmed ``refunded`` in all on ``payment``: take back each transfer's part.

    Call inside the transaction that posts the refund, under the session's
    lock. What was already taken back is not taken twice; Stripe is asked
    after commit for transfers already sent.
    """
    rows = (
        ProducerTransfer.objects.select_for_update(of=("self",))
        .select_related("producer")
        .filter(payment=payment)
        .exclude(status=Status.REFUSED)
        .order_by("pk")
    )
    taken = [row for row in rows if _take_back(row, payment, refunded)]
    to_reverse = [row.pk for row in taken if row.status == Status.SENT]
    # Nothing left to send: `_send` cancels it, once Stripe says no earlier
    # attempt made it (or reverses what one did).
    to_settle = [row.pk for row in taken if row.status in UNSENT and row.reversed == row.amount]
    if to_reverse:
        transaction.on_commit(lambda: payout_reversals_send(to_reverse))
    if to_settle:
        transaction.on_commit(lambda: payouts_send(to_settle))


def _take_back(row: ProducerTransfer, payment: Payment, refunded: Decimal) -> bool:
    """Post this transfer's new part of the refund; whether some was taken back."""
    target = part_of(row.amount, refunded, payment.amount)
    target_commission = part_of(row.commission, refunded, payment.amount)
    amount, commission = target - row.reversed, target_commission - row.reversed_commission
    if amount < 0 or commission < 0 or amount + commission == 0:
        return False
    _post_take_back(row, payment, amount, commission, total=target + target_commission)
    row.reversed, row.reversed_commission = target, target_commission
    if row.status == Status.SENT and amount > 0:
        row.reversal_status = Reversal.PENDING
    row.save(update_fields=["reversed", "reversed_commission", "reversal_status"])
    return row.status != Status.SENT or amount > 0


def _post_take_back(row, payment: Payment, amount: Decimal, commission: Decimal, *, total):
    market = payment.market
    legs = [Leg(sales_account(market, row.producer), -(amount + commission))]
    if amount:
        legs.append(Leg(market_account(market, AccountKind.ONLINE), amount))
    if commission:
        legs.append(Leg(sales_account(market), commission))
    with stored_language():
        label = _("Reprise du versement à %(producer)s (remboursement) — panier n° %(number)s") % {
            "producer": row.producer.name,
            "number": payment.order.number,
        }
    transaction_post(
        market=market,
        kind=TransactionKind.PRODUCER_TRANSFER,
        label=label,
        legs=legs,
        idempotency_key=f"{_take_back_key(row)}{gateway.to_cents(total)}",
        order=payment.order,
    )


def _take_back_key(row: ProducerTransfer) -> str:
    return f"producer-transfer-reversal-{row.pk}-"


# -- Sending, after commit -------------------------------------------------------------------


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


def payouts_send(ids, *, first: bool = False) -> None:
    """Ask Stripe for each transfer not sent yet, less what refunds took back.

    ``first``: straight after they were planned, when no earlier attempt can
    have been made; any other time, Stripe is asked first whether one was.
    """
    for pk in ids:
        _send(pk, first=first)


def _send(pk: int, *, first: bool = False) -> None:
    with transaction.atomic():
        row = _locked(pk)
        if row.status not in UNSENT:
            return
        net = row.amount - row.reversed
        try:
            answer = _sent_already(row, net, first=first)
            if answer is None and net <= 0:
                _save(row, status=Status.CANCELLED)  # never made at Stripe: nothing to send
                return
            answer = answer or _transfer_create(row, net)
        except gateway.GatewayIdempotencyError as error:
            answer = _found_at_stripe(row)
            if answer is None:
                _refuse(row, error)
                return
        except gateway.GatewayRefused as error:
            _refuse(row, error)
            return
        except gateway.GatewayError as error:
            logger.error("Stripe transfer %s to %s failed: %s", row.pk, row.destination, error)
            _save(row, status=Status.FAILED, error=str(error)[:2000], attempts=row.attempts + 1)
            return
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
            transaction.on_commit(lambda: payout_reversals_send([pk]))


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
    accounts_lock(_transfer_accounts(row.payment.market, row.payment, [row.producer]))
    with stored_language():
        reason = _("Versement refusé par Stripe : %(error)s") % {"error": str(error)[:500]}
    taken_back = Transaction.objects.filter(
        market_id=row.payment.market_id, idempotency_key__startswith=_take_back_key(row)
    ).order_by("pk")
    for txn in [row.transaction, *taken_back]:
        key = f"producer-transfer-refused-{txn.pk}"
        transaction_reverse(txn=txn, reason=reason, idempotency_key=key)


def payouts_retry() -> int:
    """Send again the transfers not sent (failed, or pending after a crash); how many now sent."""
    unsent = ProducerTransfer.objects.filter(status__in=UNSENT).order_by("pk")
    ids = list(unsent.values_list("pk", flat=True))
    payouts_send(ids)
    return ProducerTransfer.objects.filter(pk__in=ids, status=Status.SENT).count()


def payouts_failing() -> QuerySet[ProducerTransfer]:
    """Transfers and reversals Stripe failed (or could not be reached for) when last
    asked: tried again later, and reported by `stripe_reconcile` until they go through."""
    failing = Q(status=Status.FAILED) | Q(status=Status.SENT, reversal_status=Reversal.FAILED)
    return ProducerTransfer.objects.filter(failing).order_by("pk")


# -- Reversing at Stripe, after commit -------------------------------------------------------


def _stripe_target(row: ProducerTransfer) -> Decimal:
    """What Stripe should have taken back in all: taken back, less what was never sent."""
    return row.reversed - (row.amount - (row.sent_amount or ZERO))


def payout_reversals_send(ids) -> None:
    """Ask Stripe to take back from each sent transfer what refunds took back since."""
    for pk in ids:
        _send_reversal(pk)


def _send_reversal(pk: int) -> None:
    with transaction.atomic():
        row = _locked(pk)
        if row.status != Status.SENT or row.reversal_status not in TO_REVERSE:
            return
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
            return
        _save(
            row,
            reversed_at_stripe=max(target, row.reversed_at_stripe),
            reversal_status=Reversal.SENT,
            reversal_id=answer.get("id", row.reversal_id) if answer else row.reversal_id,
            reversal_error="",
        )


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
    payout_reversals_send(ids)
    return ProducerTransfer.objects.filter(pk__in=ids, reversal_status=Reversal.SENT).count()

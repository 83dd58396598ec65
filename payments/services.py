"""Client-account operations: a member's account opened, payments recorded by
admins and treasurers.

Each is one call into the posting service (`payments.ledger`), so the rules
of the ledger hold here too. ``amount`` arguments are in the client's view:
positive means the client gains credit.
"""

from collections.abc import Mapping, Sequence
from datetime import date as date_type
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Market, Membership, Role, User
from cagette.i18n import stored_language
from cagette.money import ZERO

from .labels import payment_wording
from .ledger import (
    Leg,
    client_account,
    client_ref,
    market_account,
    market_ref,
    payment_key,
    payments_post,
    retried_on_conflict,
    transaction_post,
)
from .ledger.corrections import CorrectionRefused, correction_refusal, transaction_correct
from .methods import CAGNOTTE
from .models import (
    METHOD_ACCOUNT,
    AccountKind,
    Payment,
    PaymentMethod,
    PaymentRechoice,
    PaymentStatus,
    Transaction,
    TransactionKind,
)

__all__ = ["CorrectionRefused", "correction_refusal", "transaction_correct"]  # read from here
# What receiving a payment writes on its row, besides its posting.
RECEIVED_FIELDS = ["status", "cheque_number", "bank", "paid_on", "received_at", "received_by"]


def membership_create(*, user: User, market: Market, role: str = Role.CLIENT) -> Membership:
    """Add a person to a market, with their client account in its ledger."""
    with transaction.atomic():
        membership = Membership.objects.create(user=user, market=market, role=role)
        client_account(membership)
    return membership


def opening_balance_record(
    *,
    membership: Membership,
    amount: Decimal,
    label: str,
    recorded_by,
    date: date_type | None = None,
    idempotency_key: str | None = None,
) -> Transaction:
    """« Reprise de solde »: carry over a balance kept elsewhere.

    ``amount`` > 0: the client starts with a credit; < 0: with a debt.
    """
    client = client_account(membership)
    opening = market_account(membership.market, AccountKind.OPENING)
    txn, _ = transaction_post(
        market=membership.market,
        kind=TransactionKind.OPENING_BALANCE,
        label=label,
        legs=[Leg(client, -amount), Leg(opening, amount)],
        posted_by=recorded_by,
        date=date,
        idempotency_key=idempotency_key,
    )
    return txn


def _payment_label(method: PaymentMethod, cheque_number: str = "") -> str:
    with stored_language():
        return str(payment_wording(method, cheque_number))


def _post_payment(
    *, membership, method, amount, label, posted_by, date, key, order=None, record=None, last=False
):
    """Money received: the method's money account debited, the client credited."""
    return transaction_post(
        market=membership.market,
        kind=TransactionKind.PAYMENT,
        label=label,
        legs=[
            Leg(market_ref(membership.market, METHOD_ACCOUNT[method]), amount),
            Leg(client_ref(membership), -amount),
        ],
        posted_by=posted_by,
        date=date,
        idempotency_key=key,
        order=order,
        record=record,
        last=last,
    )


@retried_on_conflict
def payment_expect(*, order, method: str, amount: Decimal, created_by) -> Payment:
    """A pending payment of ``amount`` expected for ``order`` (an `orders.Order`, under
    its row lock), with the order's next payment reference."""
    return Payment.objects.create(
        market=order.market,
        membership=order.membership,
        method=method,
        amount=amount,
        status=PaymentStatus.PENDING,
        reference=order.next_payment_reference(),
        order=order,
        distribution=order.distribution,
        created_by=created_by,
    )


def payment_record(
    *,
    membership: Membership,
    method: str,
    amount: Decimal,
    recorded_by,
    paid_on: date_type | None = None,
    reference: str = "",
    cheque_number: str = "",
    bank: str = "",
    idempotency_key: str | None = None,
    order=None,
) -> Payment:
    """Record money received from a client (e.g. AMAP contract cheques, or a
    second payment at the pickup when ``order`` is given).

    A received `Payment`, posted: the method's money account debited, the client credited.
    """
    method = PaymentMethod(method)
    paid_on = paid_on or timezone.localdate()
    payment = Payment(
        market=membership.market,
        membership=membership,
        method=method,
        amount=amount,
        status=PaymentStatus.RECEIVED,
        reference=reference or (order.reference if order else ""),
        cheque_number=cheque_number,
        bank=bank,
        paid_on=paid_on,
        created_by=recorded_by,
        received_at=timezone.now(),
        received_by=recorded_by,
        order=order,
        distribution=order.distribution if order else None,
    )
    with transaction.atomic():
        txn, created = _post_payment(
            membership=membership,
            method=method,
            amount=amount,
            label=_payment_label(method, cheque_number),
            posted_by=recorded_by,
            date=paid_on,
            key=idempotency_key,
            order=order,
            record=payment,  # written with the transaction, in its statement
            last=True,  # and committed with it, when this block is the outermost
        )
    return payment if created else txn.payment


class PaymentStateError(Exception):
    """The payment is no longer in a state that allows this (e.g. cancelled)."""


class OnlinePaymentByStripeOnly(PaymentStateError):
    """A pending online payment is confirmed by Stripe alone, as an online card
    payment: never received as cash, cheque, transfer or terminal."""


@retried_on_conflict
def payment_receive(
    *,
    payment: Payment,
    received_by,
    method: str | None = None,
    amount: Decimal | None = None,
    cheque_number: str = "",
    bank: str = "",
    paid_on: date_type | None = None,
) -> Payment:
    """Confirm an expected payment as received, with what was actually paid.

    Posting is keyed on the payment itself, so confirming it twice (two tabs,
    a double click, a bulk action racing a single one) posts once. A pending
    online payment stays an online one (`OnlinePaymentByStripeOnly`).
    """
    with transaction.atomic():
        # The payment's row only: FOR UPDATE without OF would lock the joined
        # membership and market rows too, which checkouts lock first.
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("membership__market")
            .get(pk=payment.pk)
        )
        if payment.status == PaymentStatus.RECEIVED:
            return payment
        method = PaymentMethod(method or payment.method)
        _check_receivable(payment, method)
        payment.method = method
        payment.amount = amount if amount is not None else payment.amount
        payment.cheque_number = cheque_number if method == PaymentMethod.CHEQUE else ""
        payment.bank = bank if method == PaymentMethod.CHEQUE else ""
        payment.paid_on = paid_on or timezone.localdate()
        payment.transaction, _ = _post_payment(
            membership=payment.membership,
            method=method,
            amount=payment.amount,
            label=_payment_label(method, payment.cheque_number),
            posted_by=received_by,
            date=payment.paid_on,
            key=payment_key(payment.pk),
            order=payment.order,
        )
        payment.status = PaymentStatus.RECEIVED
        payment.received_at = timezone.now()
        payment.received_by = received_by
        payment.save()
    return payment


@retried_on_conflict
def payments_receive(
    *, payments: Sequence[Payment], received_by, cheques: Mapping[int, tuple[str, str]]
) -> list[Payment]:
    """Confirm expected payments of one market as received, as declared (their
    method and amount; ``cheques``: a cheque's (number, bank) typed meanwhile).

    As `payment_receive` does for each, under each payment's lock and keyed on
    the payment, so a bulk racing a single confirmation posts once; but each
    payment's own transaction is posted with the others in one statement
    (`transactions_post_batch`). Returns ``payments`` as they now are, one
    received meanwhile or cancelled left so.
    """
    locked = list(
        Payment.objects.select_for_update(of=("self",))
        .select_related("market", "membership__user")
        .filter(pk__in=[p.pk for p in payments])
        .order_by("pk")
    )
    pending = [p for p in locked if p.status == PaymentStatus.PENDING]
    for payment in pending:
        _check_receivable(payment, PaymentMethod(payment.method))
        number, bank = cheques.get(payment.pk, ("", ""))
        cheque = payment.method == PaymentMethod.CHEQUE
        payment.cheque_number = (number or payment.cheque_number) if cheque else ""
        payment.bank = (bank or payment.bank) if cheque else ""
        payment.paid_on = timezone.localdate()
    posted = payments_post(pending, posted_by=received_by)
    now = timezone.now()
    for payment in pending:
        payment.transaction = posted[payment.pk]
        payment.status, payment.received_at = PaymentStatus.RECEIVED, now
        payment.received_by = received_by
    Payment.objects.bulk_update(pending, [*RECEIVED_FIELDS, "transaction"])
    return locked


def _check_receivable(payment: Payment, method: PaymentMethod) -> None:
    if payment.status != PaymentStatus.PENDING:
        raise PaymentStateError(f"payment {payment.pk} is {payment.status}")
    if method == PaymentMethod.ON_SITE:
        raise PaymentStateError("the method actually used must be chosen")
    if payment.method == PaymentMethod.ONLINE_CARD and method != PaymentMethod.ONLINE_CARD:
        raise OnlinePaymentByStripeOnly(f"payment {payment.pk} is confirmed by Stripe")


def payment_cancel(*, payment: Payment, cancelled_by) -> Payment:
    """The expected payment will not come (the debt, if any, stays on the balance)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == PaymentStatus.PENDING:
            payment.status = PaymentStatus.CANCELLED
            payment.received_by = cancelled_by
            payment.received_at = timezone.now()
            payment.save(update_fields=["status", "received_by", "received_at"])
        elif payment.status == PaymentStatus.RECEIVED:
            raise PaymentStateError("a received payment is corrected by a reversal")
    return payment


def payment_settle_from_balance(*, payment: Payment, settled_by) -> PaymentRechoice:
    """The client's balance pays what ``payment`` was expected for (« cagnotte »).

    Paying from the balance moves no money: the order's debit already lowered
    the balance. So nothing is posted; the payment, expected or marked not
    paid, is cancelled and recorded as replaced by the cagnotte, as when a client chooses again
    (`orders.paying.rechoose.payment_choose_again`), so every page reads the order
    as paid with the balance. Once per payment: asked again, it returns the
    first record. The caller checks that the balance covers it.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).get(pk=payment.pk)
        done = PaymentRechoice.objects.filter(replaced=payment).first()
        if done is not None:
            return done
        if payment.status == PaymentStatus.RECEIVED:
            raise PaymentStateError(f"payment {payment.pk} is received")
        payment_cancel(payment=payment, cancelled_by=settled_by)  # a cancelled one stays so
        return PaymentRechoice.objects.create(
            replaced=payment, choice=CAGNOTTE, payment=None, chosen_by=settled_by
        )


def refund_record(
    *,
    membership: Membership,
    amount: Decimal,
    refunded_by,
    idempotency_key: str | None = None,
    order=None,
) -> Transaction:
    """Give back cash from the client's credit (an overpayment, say).

    The client must hold at least ``amount``: a refund never creates a debt.
    Raises `payments.ledger.InsufficientBalanceError` otherwise.
    """
    client = client_account(membership)
    cash = market_account(membership.market, AccountKind.CASH)
    with stored_language():
        label = str(_("Remboursement en espèces"))
    txn, _created = transaction_post(
        market=membership.market,
        kind=TransactionKind.REFUND,
        label=label,
        legs=[Leg(client, amount), Leg(cash, -amount)],
        posted_by=refunded_by,
        idempotency_key=idempotency_key,
        floors={client: ZERO},
        order=order,
    )
    return txn

"""The market's recent bank credits, each with the payment it seems to pay.

Reads the lines of the last `RECENT_DAYS` days still open (neither
confirmed as a payment, `BankMatch`, nor set aside, `BankLineAside`) and the
payments they may pay, in three queries whatever their number: the lines,
the transfers still expected, the payments received whose reference a line
carries. The rules are `payments.bank.matching`'s. A line confirmed
(`BankMatch`) is no longer proposed: `matched_lines` lists them.
"""

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext, gettext_noop

from accounts.models import Market
from cagette.money import ZERO

from ..bank_transfers import expected_transfers
from ..methods import PaymentMethod
from ..models import BankLine, BankLineAside, BankMatch, Payment, PaymentStatus
from ..services import PaymentStateError, payment_receive, payment_record
from .matching import (
    CHECK,
    RECEIVED,
    SURE,
    UNKNOWN,
    Credit,
    Expected,
    Proposal,
    match,
    references_in,
)

RECENT_DAYS = 90
_DEPOSIT_HINTS = {
    PaymentMethod.CHEQUE: gettext_noop("Autant que les chèques de la distribution du %(date)s."),
    PaymentMethod.CARD_TERMINAL: gettext_noop(
        "Autant que le terminal de paiement de la distribution du %(date)s."
    ),
}
MOST_LINES = 500


@dataclass
class Proposals:
    sure: list[Proposal] = field(default_factory=list)
    check: list[Proposal] = field(default_factory=list)
    unknown: list[Proposal] = field(default_factory=list)
    received: list[Proposal] = field(default_factory=list)
    lines: dict[int, BankLine] = field(default_factory=dict)
    payments: dict[int, Payment] = field(default_factory=dict)


def _since(today: datetime.date | None) -> datetime.date:
    """The first day of the lines the page reads."""
    return (today or timezone.localdate()) - datetime.timedelta(days=RECENT_DAYS)


def _expected(payment: Payment) -> Expected:
    user = payment.membership.user
    return Expected(
        payment_id=payment.pk,
        reference=payment.reference,
        amount=payment.amount,
        first_name=user.first_name,
        last_name=user.last_name,
        received=payment.status == PaymentStatus.RECEIVED,
    )


def _credit(line: BankLine) -> Credit:
    return Credit(line.pk, line.amount, f"{line.label} {line.reference}", line.payer or line.label)


def _standing(line):
    """The line's matches whose payment still stands: one cancelled by « Annuler »
    in the client's history (its posting reversed) frees the line again."""
    return BankMatch.objects.filter(line=line).exclude(payment__status=PaymentStatus.CANCELLED)


def _open_lines(market: Market, today, line_ids) -> list[BankLine]:
    """The market's bank lines neither confirmed as a payment nor set aside:
    those of the last `RECENT_DAYS` days, or those of ``line_ids``."""
    lines = BankLine.objects.filter(market=market).exclude(Exists(_standing(OuterRef("pk"))))
    lines = lines.exclude(Exists(BankLineAside.objects.filter(line=OuterRef("pk"))))
    if line_ids is not None:
        lines = lines.filter(pk__in=line_ids)
    else:
        lines = lines.filter(booked_on__gte=_since(today))
    return list(lines.order_by("-booked_on", "-pk")[:MOST_LINES])


def _payments(market: Market, credits: list[Credit]) -> dict[int, Payment]:
    """The transfers still expected, and the payments received whose reference a credit carries."""
    written = {ref for c in credits for ref in references_in(c.text)}
    received = Payment.objects.filter(
        market=market, status=PaymentStatus.RECEIVED, reference__in=written
    )
    expected = expected_transfers(market)
    found = [
        *expected.select_related("membership__user"),
        *received.select_related("membership__user"),
    ]
    return {p.pk: p for p in found}


def bank_proposals(market: Market, today: datetime.date | None = None, line_ids=None) -> Proposals:
    """The recent lines of ``market``'s bank still open, grouped: each credit as
    `payments.bank.matching` proposes it, each debit with the unknown ones; with
    ``line_ids``, those lines only."""
    lines = _open_lines(market, today, line_ids)
    credits = [_credit(line) for line in lines if line.amount > 0]
    payments = _payments(market, credits)
    found = Proposals(lines={line.pk: line for line in lines}, payments=payments)
    groups = {SURE: found.sure, CHECK: found.check, UNKNOWN: found.unknown}
    groups[RECEIVED] = found.received
    for proposal in match(credits, [_expected(p) for p in payments.values()]):
        groups[proposal.group].append(proposal)
    debits = [Proposal(_credit(line), UNKNOWN) for line in lines if line.amount < 0]
    found.unknown.extend(debits)
    return found


def proposals_confirm(
    *, market: Market, line_ids, received_by, payment_ids=None, sure_only: bool = False
) -> list[Payment]:
    """Receive the payments the lines ``line_ids`` pay, as the rules propose them
    now (not as a page showed them): each line's payments when the rules still
    find them, all of them (``payment_ids``) when given, its amount when it pays
    one. Sure proposals only with ``sure_only``. A payment no longer expected
    (confirmed by another click meanwhile) is skipped: each is posted once."""
    found = bank_proposals(market, line_ids=line_ids)
    received = []
    for proposal in found.sure + ([] if sure_only else found.check):
        ids = [e.payment_id for e in proposal.payments]
        if not ids or (payment_ids is not None and sorted(ids) != sorted(payment_ids)):
            continue
        total = sum((e.amount for e in proposal.payments), ZERO)
        if len(ids) > 1 and total != proposal.credit.amount:
            continue  # several payments, another amount: shared out by hand
        line = found.lines[proposal.credit.line_id]
        for payment_id in ids:
            amount = line.amount if len(ids) == 1 else None
            done = _receive(found.payments[payment_id], line, amount, received_by)
            received.extend(done)
    return received


def _receive(payment: Payment, line: BankLine, amount, received_by) -> list[Payment]:
    """``payment`` received from ``line``, if it is still expected when locked
    (another click may have confirmed it meanwhile: then nothing is posted)."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update(of=("self",)).get(pk=payment.pk)
        if locked.status != PaymentStatus.PENDING:
            return []
        try:
            done = payment_receive(
                payment=locked,
                received_by=received_by,
                method=PaymentMethod.TRANSFER,
                amount=amount,
                paid_on=line.booked_on,
            )
        except PaymentStateError:  # an online payment, say: confirmed by Stripe only
            return []
        BankMatch.objects.create(
            market_id=line.market_id, line=line, payment=done, created_by=received_by
        )
    return [done]


def matched_lines(market: Market, today: datetime.date | None = None) -> list[tuple]:
    """The recent bank lines confirmed as payments: ``(line, payments)`` pairs."""
    matches = (
        BankMatch.objects.filter(market=market, line__booked_on__gte=_since(today))
        .exclude(payment__status=PaymentStatus.CANCELLED)
        .select_related("line", "payment__membership__user")
        .order_by("-line__booked_on", "-line_id", "payment_id")[:MOST_LINES]
    )
    lines: dict[int, tuple] = {}
    for confirmed in matches:
        lines.setdefault(confirmed.line_id, (confirmed.line, []))[1].append(confirmed.payment)
    return list(lines.values())


def line_assign(*, line: BankLine, membership, received_by) -> Payment:
    """A credit no expected payment explains, received from ``membership``: a
    transfer recorded on the bank's date, crediting the client's account.
    Keyed on the line: sent twice, it records once."""
    with transaction.atomic():
        payment = payment_record(
            membership=membership,
            method=PaymentMethod.TRANSFER,
            amount=line.amount,
            recorded_by=received_by,
            paid_on=line.booked_on,
            # The same for a second click; another once « Annuler » cancelled an earlier one.
            idempotency_key=f"bank-line-{line.pk}-{BankMatch.objects.filter(line=line).count()}",
        )
        BankMatch.objects.get_or_create(
            payment=payment,
            defaults={"market_id": line.market_id, "line": line, "created_by": received_by},
        )
    return payment


def line_standing(line: BankLine) -> bool:
    """Whether the line is the payment of a payment that still stands."""
    return _standing(line).exists()


def deposit_hints(market: Market, lines: list[BankLine], today=None) -> dict[int, str]:
    """For each credit of ``lines`` worth exactly the cheques, or the card
    terminal's takings, of one recent distribution: a sentence saying so."""
    takings = (
        Payment.objects.filter(
            market=market,
            status=PaymentStatus.RECEIVED,
            method__in=[PaymentMethod.CHEQUE, PaymentMethod.CARD_TERMINAL],
            distribution__date__gte=_since(today),
        )
        .values("method", "distribution__date")
        .annotate(total=Sum("amount"))
    )
    found = {(row["total"], row["method"]): row["distribution__date"] for row in takings}
    hints = {}
    for line in lines:
        for method, text in _DEPOSIT_HINTS.items():
            day = found.get((line.amount, method))
            if day is not None and line.pk not in hints:
                hints[line.pk] = gettext(text) % {
                    "date": formats.date_format(day, "SHORT_DATE_FORMAT")
                }
    return hints

"""The market's recent bank credits, each with the payment it seems to pay.

Reads the credit lines of the last `RECENT_DAYS` days and the payments they
may pay, in three queries whatever their number: the lines, the transfers
still expected, the payments received whose reference a line carries. The
rules are `payments.bank.matching`'s.
"""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from accounts.models import Market

from ..bank_transfers import expected_transfers
from ..models import BankLine, Payment, PaymentStatus
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
MOST_LINES = 500


@dataclass
class Proposals:
    sure: list[Proposal] = field(default_factory=list)
    check: list[Proposal] = field(default_factory=list)
    unknown: list[Proposal] = field(default_factory=list)
    received: list[Proposal] = field(default_factory=list)
    lines: dict[int, BankLine] = field(default_factory=dict)
    payments: dict[int, Payment] = field(default_factory=dict)

    @property
    def sure_ids(self) -> list[int]:
        return [p.payments[0].payment_id for p in self.sure]


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


def bank_proposals(market: Market, today: datetime.date | None = None) -> Proposals:
    """The recent credits of ``market``'s bank, grouped (see `payments.bank.matching`)."""
    since = (today or timezone.localdate()) - datetime.timedelta(days=RECENT_DAYS)
    lines = list(
        BankLine.objects.filter(market=market, amount__gt=0, booked_on__gte=since).order_by(
            "-booked_on", "-pk"
        )[:MOST_LINES]
    )
    credits = [_credit(line) for line in lines]
    written = {ref for c in credits for ref in references_in(c.text)}
    payments = {
        p.pk: p
        for p in (
            list(expected_transfers(market).select_related("membership__user"))
            + list(
                Payment.objects.filter(
                    market=market, status=PaymentStatus.RECEIVED, reference__in=written
                ).select_related("membership__user")
            )
        )
    }
    found = Proposals(lines={line.pk: line for line in lines}, payments=payments)
    groups = {SURE: found.sure, CHECK: found.check, UNKNOWN: found.unknown}
    groups[RECEIVED] = found.received
    for proposal in match(credits, [_expected(p) for p in payments.values()]):
        groups[proposal.group].append(proposal)
    return found

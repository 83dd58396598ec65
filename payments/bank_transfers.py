"""Transfers still expected: what the treasurer checks before a distribution.

The help page asks the market to check, before the distribution, that the
transfers were made, and to remind the clients who have not made theirs.

Reads: `pending_transfers` (one query per list, with the days since ordering
and the reminders annotated) and `filterable_distributions`. Services:
`transfers_mark_received` and `transfer_reminders_send`, which both act on a
selection of payment ids and simply ignore an id that is not a transfer still
expected from this market (another market's, already received, cancelled).
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date as date_type
from datetime import timedelta
from decimal import Decimal
from functools import partial

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Market
from cagette.emails import email_build
from cagette.money import ZERO

from .instructions import PaymentInstructions
from .methods import PaymentMethod
from .models import Payment, PaymentReminder, PaymentStatus
from .services import PaymentStateError, payment_receive

logger = logging.getLogger(__name__)

# The distributions payments are for, reached through the payments' own link
# (the distributions app depends on this one, not the reverse).
Distribution = Payment._meta.get_field("distribution").related_model


# -- Reads -----------------------------------------------------------------------


def expected_transfers(market: Market) -> QuerySet[Payment]:
    """Every transfer of this market not yet received (nor cancelled)."""
    return Payment.objects.filter(
        market=market, method=PaymentMethod.TRANSFER, status=PaymentStatus.PENDING
    )


def filterable_distributions(market: Market, today: date_type | None = None):
    """The distributions the page can show: every upcoming one, and each past one
    that still waits for a transfer (a late transfer is what the treasurer chases)."""
    today = today or timezone.localdate()
    waiting = expected_transfers(market).filter(distribution=OuterRef("pk"))
    return (
        Distribution.objects.filter(market=market)
        .filter(Q(date__gte=today) | Exists(waiting))
        .order_by("date", "pk")
    )


def pending_transfers(
    market: Market,
    distribution: Distribution | None = None,
    *,
    late: bool = False,
    today: date_type | None = None,
) -> QuerySet[Payment]:
    """Transfers still expected for the upcoming distributions, in one query.

    ``late=True``: those of past distributions instead (and any not tied to a
    distribution), still not received. Each row carries ``waiting`` (a
    timedelta: whole days since the client ordered, in local time),
    ``reminder_count`` and ``last_reminded_at`` (reminders actually sent),
    ``last_requested_at`` (the last one asked for, sent or not) and
    ``last_reminder_failed`` (the last one asked for was not sent).
    """
    today = today or timezone.localdate()
    payments = expected_transfers(market)
    if late:
        payments = payments.filter(Q(distribution__date__lt=today) | Q(distribution__isnull=True))
    else:
        payments = payments.filter(distribution__date__gte=today)
    if distribution is not None:
        payments = payments.filter(distribution=distribution)
    return _with_reminders(payments.select_related("membership__user", "distribution"), today)


def _with_reminders(payments: QuerySet[Payment], today: date_type) -> QuerySet[Payment]:
    """The annotations `pending_transfers` promises, in the page's order."""
    sent = Q(reminders__sent_at__isnull=False)
    asked_unsent = Q(last_requested_at__isnull=False) & (
        Q(last_reminded_at__isnull=True) | Q(last_requested_at__gt=F("last_reminded_at"))
    )
    return (
        payments.annotate(
            waiting=ExpressionWrapper(
                Value(today, output_field=DateField()) - TruncDate("created_at"),
                output_field=DurationField(),
            ),
            reminder_count=Count("reminders", filter=sent),
            last_reminded_at=Max("reminders__sent_at"),
            last_requested_at=Max("reminders__requested_at"),
        )
        .annotate(
            last_reminder_failed=Case(
                When(asked_unsent, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by(
            "distribution__date",
            "membership__user__last_name",
            "membership__user__first_name",
            "pk",
        )
    )


@dataclass(frozen=True)
class Totals:
    count: int
    amount: Decimal


def transfer_totals(rows: Iterable[Payment]) -> Totals:
    rows = list(rows)
    return Totals(count=len(rows), amount=sum((p.amount for p in rows), ZERO))


# -- Marking transfers as received --------------------------------------------------


@dataclass
class Received:
    payments: list[Payment] = field(default_factory=list)
    skipped: int = 0  # selected, but not a transfer still expected from this market

    @property
    def amount(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)


def transfers_mark_received(*, market: Market, payment_ids: Iterable[int], received_by) -> Received:
    """Confirm the selected transfers as received: each posted once.

    Each payment is confirmed in its own database transaction, as a single
    confirmation would be, and `payment_receive` keys the posting on the
    payment: the same selection sent twice (double click, two tabs) posts once,
    the second time finding the payments no longer expected.
    """
    ids = set(payment_ids)
    outcome = Received()
    for payment in expected_transfers(market).filter(pk__in=ids).order_by("pk"):
        try:
            outcome.payments.append(payment_receive(payment=payment, received_by=received_by))
        except PaymentStateError:
            # Cancelled in another tab since it was read: nothing to post.
            continue
    outcome.skipped = len(ids) - len(outcome.payments)
    return outcome


# -- Reminders -------------------------------------------------------------------


class MissingIbanError(Exception):
    """The market has no IBAN: a reminder would not say where to pay."""


@dataclass
class Reminders:
    queued: list[PaymentReminder] = field(default_factory=list)
    repeated: int = 0  # already sent for this same form: not sent again
    under_way: int = 0  # this same form's reminder is still being sent: not sent twice
    skipped: int = 0  # selected, but not a transfer still expected from this market
    # Filled in after commit, once the emails have been handed to the mail server.
    sent: int | None = None
    failed: int | None = None

    @property
    def delivered(self) -> bool:
        return self.sent is not None


def transfer_reminders_send(
    *, market: Market, payment_ids: Iterable[int], sent_by, token: str
) -> Reminders:
    """Email the client of each selected transfer a reminder, once per form.

    The order of the steps is what makes this safe:

    1. In one database transaction, each selected payment is locked and its
       `PaymentReminder` row is claimed with the form's one-time ``token``
       (unique per payment). The same form submitted twice finds the row and
       sends nothing; two submits racing wait on the payment's lock.
    2. After commit, each email is sent, and only then is ``sent_at`` set.

    Recording the reminder *after* a successful send instead would leave
    nothing for a second submit to collide with until the emails are out, so
    both would send; sending *before* commit could email about a reminder that
    is then rolled back. Claiming first means a failed send (or a crash between
    commit and send) leaves a row without ``sent_at``: the client is reminded
    at most once per form, and never counted as reminded when they were not.
    A send that failed is marked so (``failed_at``): the same form sent again
    claims that row afresh and tries once more, rather than claiming that the
    reminder already went out.

    Raises `MissingIbanError` when the market has no IBAN to give.
    """
    if not market.iban:
        raise MissingIbanError(market.slug)
    ids = set(payment_ids)
    outcome = Reminders()
    with transaction.atomic():
        payments = list(
            expected_transfers(market).filter(pk__in=ids).select_for_update().order_by("pk")
        )
        for payment in payments:
            reminder, created = PaymentReminder.objects.get_or_create(
                payment=payment, token=token, defaults={"sent_by": sent_by}
            )
            if created or _reclaimed(reminder):
                outcome.queued.append(reminder)
            elif reminder.sent_at is not None:
                outcome.repeated += 1
            else:
                outcome.under_way += 1
        outcome.skipped = len(ids) - len(payments)
        if outcome.queued:
            reminder_ids = [reminder.pk for reminder in outcome.queued]
            transaction.on_commit(partial(_deliver, reminder_ids, outcome), robust=True)
    return outcome


# A claim older than this that is neither sent nor failed was cut short (the
# process died between commit and send): the same form may claim it again.
STALE_CLAIM = timedelta(minutes=15)


def _reclaimed(reminder: PaymentReminder) -> bool:
    """A reminder whose send failed (or was cut short) is claimed again, under
    the payment's lock: a second submit racing this one finds it under way."""
    now = timezone.now()
    if reminder.sent_at is not None:
        return False
    if reminder.failed_at is None and reminder.requested_at > now - STALE_CLAIM:
        return False
    reminder.failed_at = None
    reminder.requested_at = now
    reminder.save(update_fields=["failed_at", "requested_at"])
    return True


def _deliver(reminder_ids: list[int], outcome: Reminders) -> None:
    reminders = PaymentReminder.objects.filter(pk__in=reminder_ids).select_related(
        "payment__market", "payment__membership__user", "payment__distribution"
    )
    results = [reminder_email_send(reminder) for reminder in reminders]
    outcome.sent = results.count(True)
    outcome.failed = len(results) - outcome.sent


def reminder_email_send(reminder: PaymentReminder) -> bool:
    """Send one reminder; a failure is logged, and the reminder stays unsent."""
    try:
        _build(reminder.payment).send()
    except Exception:
        logger.exception(
            "Transfer reminder %s (payment %s) was not sent", reminder.pk, reminder.payment_id
        )
        PaymentReminder.objects.filter(pk=reminder.pk).update(failed_at=timezone.now())
        return False
    PaymentReminder.objects.filter(pk=reminder.pk).update(sent_at=timezone.now(), failed_at=None)
    return True


def _build(payment: Payment) -> EmailMultiAlternatives:
    market = payment.market
    context = {
        "payment": payment,
        "market": market,
        "client": payment.membership.user,
        "distribution": payment.distribution,
        "instructions": PaymentInstructions(
            market, PaymentMethod.TRANSFER, payment.amount, payment.reference
        ),
    }
    return email_build("transfer_reminder", context, to=payment.membership.user)

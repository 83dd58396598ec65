"""Transfers still expected: what the treasurer checks before a distribution.

The help page asks the market to check, before the distribution, that the
transfers were made, and to remind the clients who have not made theirs.

Reads: `pending_transfers` (one query per list, with the days since ordering
and the reminders annotated) and `filterable_distributions`. Services:
`transfers_mark_received` and `transfer_reminders_send`, which both act on a
selection of payment ids and simply ignore an id that is not a transfer still
expected from this market (another market's, already received, cancelled).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date as date_type
from decimal import Decimal

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
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import EmailStatus, Market, OutgoingEmail
from accounts.outbox import email_queue, email_retry
from cagette.emails import email_build
from cagette.money import ZERO

from .instructions import PaymentInstructions
from .methods import PaymentMethod
from .models import Payment, PaymentReminder, PaymentStatus
from .services import PaymentStateError, payment_receive

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
    ``reminder_count`` and ``last_reminded_at`` (reminders actually sent:
    their email reached the mail server), ``last_requested_at`` (the last one
    asked for, sent or not, and ``last_reminder_email``, the id of its
    email), ``last_reminder_pending`` (its email is still
    waiting for the mail server) and ``last_reminder_failed`` (it could not
    be sent).
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
    latest = PaymentReminder.objects.filter(payment=OuterRef("pk")).order_by("-requested_at", "-pk")
    return (
        payments.annotate(
            waiting=ExpressionWrapper(
                Value(today, output_field=DateField()) - TruncDate("created_at"),
                output_field=DurationField(),
            ),
            reminder_count=Count("reminders", filter=Q(reminders__email__status=EmailStatus.SENT)),
            last_reminded_at=Max("reminders__email__sent_at"),
            last_requested_at=Max("reminders__requested_at"),
            last_reminder_status=Subquery(latest.values("email__status")[:1]),
            last_reminder_email=Subquery(latest.values("email")[:1]),
        )
        .annotate(
            # The last one asked for was refused or given up (or, asked for
            # before emails were kept, never sent).
            last_reminder_failed=Case(
                When(
                    Q(last_requested_at__isnull=False)
                    & (
                        Q(last_reminder_status__isnull=True)
                        | Q(last_reminder_status=EmailStatus.FAILED)
                    ),
                    then=Value(True),
                ),
                default=Value(False),
                output_field=BooleanField(),
            ),
            last_reminder_pending=Case(
                When(last_reminder_status=EmailStatus.PENDING, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
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


def transfer_reminders_send(
    *, market: Market, payment_ids: Iterable[int], sent_by, token: str
) -> Reminders:
    """Queue for the client of each selected transfer a reminder, once per form.

    In one database transaction, each selected payment is locked, its
    `PaymentReminder` row is claimed with the form's one-time ``token``
    (unique per payment), and its email is rendered and queued
    (`accounts.outbox.email_queue`): the commit makes the reminder, its email
    and the job that delivers it exist together, a rollback none of them. The
    request never waits for the mail server.

    The same form submitted again finds its row: a reminder sent or under way
    is not sent twice; one whose email could not be sent (address refused,
    mail server away for a day) is sent again, once (`email_retry`). Two
    submits racing wait on the payment's lock.

    Raises `MissingIbanError` when the market has no IBAN to give.
    """
    if not market.iban:
        raise MissingIbanError(market.slug)
    ids = set(payment_ids)
    outcome = Reminders()
    with transaction.atomic():
        payments = list(
            expected_transfers(market)
            .filter(pk__in=ids)
            .select_related("market", "membership__user", "distribution")
            .select_for_update(of=("self",))
            .order_by("pk")
        )
        for payment in payments:
            reminder, _created = PaymentReminder.objects.select_related("email").get_or_create(
                payment=payment, token=token, defaults={"sent_by": sent_by}
            )
            if _queued(reminder, payment):
                outcome.queued.append(reminder)
            elif reminder.email.status == EmailStatus.SENT:
                outcome.repeated += 1
            else:
                outcome.under_way += 1
        outcome.skipped = len(ids) - len(payments)
    return outcome


def _queued(reminder: PaymentReminder, payment: Payment) -> bool:
    """Queue the email of a new reminder, or of one that could not be sent."""
    if reminder.email is None:  # new, or asked for before emails were kept
        reminder.email = reminder_email_queue(reminder, payment)
    elif not email_retry(reminder.email):
        return False  # sent, or still being sent
    reminder.requested_at = timezone.now()
    reminder.save(update_fields=["email", "requested_at"])
    return True


def reminder_email_queue(reminder: PaymentReminder, payment: Payment) -> OutgoingEmail:
    """Render the reminder's email now and queue it (in the caller's transaction)."""
    return email_queue(
        _build(payment),
        key=f"transfer_reminder:{reminder.pk}",
        about=f"payment:{payment.pk}",
        market=payment.market,
        user=payment.membership.user,
    )


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

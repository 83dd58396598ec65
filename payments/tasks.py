"""The payments app's jobs: every call to Stripe, Stripe's webhook events applied,
the PDF exports, and the periodic work.

- ``payout_send``, ``payout_reversal_send``, ``refund_send``, ``checkout_open``,
  ``checkout_refresh``, ``checkout_expire``: each call to Stripe a page decided,
  deferred with its row's lock in the transaction that decides it
  (`payments.stripe.deferred`). Each is idempotent: it reads its row, does
  nothing when the effect is done already, and keeps the idempotency keys and
  the look-up-before-resend rule of the module it calls. Stripe failing or out
  of reach raises `cagette.jobs.Temporary` (tried again with `RETRY`'s
  backoff, for a day); Stripe refusing is recorded on the row, shown to the
  admin, and the job stops;
- ``stripe_event_apply``: one stored webhook event, applied once
  (`payments.stripe.webhooks`), tried again on `cagette.jobs.Temporary`;
- ``stripe_reconcile`` (every 15 minutes): what Stripe's webhooks did not
  settle, asked to Stripe (`payments.stripe.reconcile`);
- ``transfer_reminders_auto`` (every hour): the transfers still expected for
  a distribution reminded, once, when the market's chosen time before it has
  come (`Market.transfer_reminders_*`);
- ``check_ledger`` (every night at 03:00 UTC): the audit of the books, kept as
  a `LedgerCheckRun` (`payments.ledger.check_runs`);
- ``export_balances``: the « Solde des clients » PDF of one export, and
  ``exports_purge`` (every hour): the exports asked for more than a day ago
  deleted with their files (`payments.exports`).

Each periodic job is deferred once per due time whatever the number of
workers (procrastinate records each one it defers), waits in the queue at
most once (``queueing_lock``) and never runs twice at once (``lock``). The
schedules come from the settings (``JOB_SCHEDULE_*``).

PDF layouts run on the queue ``exports``: a worker started without
``--queues`` takes them with every other job; a site with large markets can
give them workers of their own (``procrastinate worker --queues=exports
--concurrency=1``): a layout takes a worker about 260 MB for 2 000 clients,
320 MB for 6 000 (laid out in parts past 2 000; bench/export_pdf.py).
"""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from procrastinate.contrib.django import app

from accounts.models import Market
from cagette.jobs import RETRY

from .bank_transfers import Distribution, MissingIbanError, expected_transfers
from .bank_transfers import transfer_reminders_send as reminders_send
from .exports.balances import balances_pdf
from .exports.services import export_build, exports_purge
from .ledger.check_runs import ledger_check_run
from .stripe import deferred, opening
from .stripe.payout_sending import payout_reversal_send as _payout_reversal_send
from .stripe.payout_sending import payout_send as _payout_send
from .stripe.reconcile import stripe_reconcile
from .stripe.refunds import refund_deliver
from .stripe.webhooks import event_apply

logger = logging.getLogger(__name__)

# The queue of every PDF layout (distributions' Encaissements too).
EXPORTS_QUEUE = "exports"


def _due(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


# -- Calls to Stripe ----------------------------------------------------------------------


@app.task(name=deferred.PAYOUT_SEND, retry=RETRY)
def payout_send(transfer_id: int, first: bool = False) -> None:
    """Send a producer's transfer (`payments.stripe.payouts`)."""
    _payout_send(transfer_id, first=first)


@app.task(name=deferred.PAYOUT_REVERSAL_SEND, retry=RETRY)
def payout_reversal_send(transfer_id: int) -> None:
    """Take back at Stripe what refunds took back of a sent transfer."""
    _payout_reversal_send(transfer_id)


@app.task(name=deferred.REFUND_SEND, retry=RETRY)
def refund_send(refund_id: int, first: bool = False) -> None:
    """Ask Stripe for a refund asked from the basket page (`payments.stripe.refunds`)."""
    refund_deliver(refund_id, first=first)


@app.task(name=deferred.CHECKOUT_OPEN, retry=RETRY)
def checkout_open(checkout_id: int, success_url: str, cancel_url: str) -> None:
    """Open the client's Checkout Session (`payments.stripe.opening`)."""
    opening.checkout_session_open(checkout_id, success_url=success_url, cancel_url=cancel_url)


@app.task(name=deferred.CHECKOUT_REFRESH, retry=RETRY)
def checkout_refresh(checkout_id: int) -> None:
    """Settle a session the client came back from, as Stripe sees it now."""
    opening.checkout_refresh(checkout_id)


@app.task(name=deferred.CHECKOUT_EXPIRE, retry=RETRY)
def checkout_expire(checkout_id: int) -> None:
    """Close a session the client no longer pays on."""
    opening.checkout_close(checkout_id)


# -- Stripe's webhook events, and the periodic work -------------------------------------


@app.task(name="stripe_event_apply", retry=RETRY)
def stripe_event_apply(event_id: str) -> None:
    """Apply the stored Stripe event ``event_id``, once."""
    event_apply(event_id)


@app.periodic(cron=settings.JOB_SCHEDULE_STRIPE_RECONCILE, periodic_id="stripe_reconcile")
@app.task(name="stripe_reconcile", queueing_lock="stripe_reconcile", lock="stripe_reconcile")
def stripe_reconcile_job(timestamp: int) -> int:
    """Settle what Stripe's webhooks left; each failure is logged at ERROR (tried next run)."""
    outcome = stripe_reconcile()
    for line in outcome.done:
        logger.info("stripe_reconcile: %s", line)
    if outcome.failures:
        logger.error("stripe_reconcile: %s Stripe call(s) failed", len(outcome.failures))
    return len(outcome.failures)


@app.periodic(cron=settings.JOB_SCHEDULE_CHECK_LEDGER, periodic_id="check_ledger")
@app.task(name="check_ledger", queueing_lock="check_ledger", lock="check_ledger")
def check_ledger(timestamp: int) -> int:
    """Audit the books; drift is logged at ERROR and shown to superusers."""
    return ledger_check_run(scheduled_for=_due(timestamp)).problem_count


@app.task(name="export_balances", queue=EXPORTS_QUEUE)
def export_balances(export_id: int) -> None:
    """Lay out the « Solde des clients » PDF of export ``export_id``."""
    export_build(export_id, balances_pdf)


@app.periodic(cron=settings.JOB_SCHEDULE_EXPORTS_PURGE, periodic_id="exports_purge")
@app.task(name="exports_purge", queueing_lock="exports_purge")
def exports_purge_old(timestamp: int) -> int:
    """Every hour: delete the exports (and files) asked for more than a day ago."""
    return exports_purge()


# -- Transfers reminded before each distribution ----------------------------------------


@app.periodic(cron=settings.JOB_SCHEDULE_TRANSFER_REMINDERS, periodic_id="transfer_reminders_auto")
@app.task(
    name="transfer_reminders_auto",
    queueing_lock="transfer_reminders_auto",
    lock="transfer_reminders_auto",
)
def transfer_reminders_auto(timestamp: int) -> int:
    """Remind, for each distribution whose time has come, the transfers still expected."""
    reminded = 0
    for market, distribution, moment in reminders_due(_due(timestamp)):
        reminded += distribution_reminders_send(market, distribution, moment)
    return reminded


def reminder_moment(market: Market, distribution) -> datetime:
    """When the market wants the transfers of ``distribution`` reminded (local time)."""
    day = distribution.date - timedelta(days=market.transfer_reminders_days_before)
    return timezone.make_aware(datetime.combine(day, time(market.transfer_reminders_hour)))


def reminders_due(now: datetime) -> Iterator[tuple[Market, object, datetime]]:
    """``(market, distribution, moment)`` for each distribution not past yet whose
    reminder moment has come, in the markets that remind automatically."""
    today = timezone.localdate(now)
    markets = Market.objects.filter(transfer_reminders_auto=True, payments_enabled=True)
    for market in markets.order_by("pk"):
        last = today + timedelta(days=market.transfer_reminders_days_before)
        coming = Distribution.objects.filter(market=market, date__gte=today, date__lte=last)
        for distribution in coming.order_by("date", "pk"):
            moment = reminder_moment(market, distribution)
            if moment <= now:
                yield market, distribution, moment


def distribution_reminders_send(market: Market, distribution, moment: datetime) -> int:
    """Remind each transfer of ``distribution`` still expected, once (whoever runs it,
    however often): those ordered after the moment were just told how to pay."""
    token = f"auto:{distribution.pk}"
    ids = list(
        expected_transfers(market)
        .filter(distribution=distribution, created_at__lt=moment)
        .exclude(reminders__token=token)
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    try:
        outcome = reminders_send(market=market, payment_ids=ids, sent_by=None, token=token)
    except MissingIbanError:
        logger.warning("Market %s has no IBAN: transfers of %s not reminded", market.slug, moment)
        return 0
    logger.info("Distribution %s: %s transfer(s) reminded", distribution.pk, len(outcome.queued))
    return len(outcome.queued)

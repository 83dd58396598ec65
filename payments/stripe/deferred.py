"""Deferring the jobs that call Stripe (their bodies are in `payments.tasks`).

The modules that decide a call to Stripe (a payment received, a refund asked,
a session to open) defer its job here, by the task's name, in the database
transaction that decides it (`cagette.jobs.defer`'s rule), so that they need
not import the tasks, which import them.

Every job works on one row and carries that row's ``lock``: two workers never
work on one transfer, refund or session at once, and the jobs of one row run
in the order they were deferred. Where a job may be asked for again while one
is still waiting (a return page reloaded, a reconciliation run), its
``queueing_lock`` keeps one waiting job: the second ask is a no-op.
"""

from django.db import transaction
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.exceptions import AlreadyEnqueued

from cagette.jobs import defer

PAYOUT_SEND = "payout_send"
PAYOUT_REVERSAL_SEND = "payout_reversal_send"
REFUND_SEND = "refund_send"
CHECKOUT_OPEN = "checkout_open"
CHECKOUT_REFRESH = "checkout_refresh"
CHECKOUT_EXPIRE = "checkout_expire"


def _defer(name: str, *, lock: str, queueing_lock: str | None = None, **kwargs) -> bool:
    """Defer ``name`` in the current transaction; False when one was waiting already."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{name} must be deferred inside the transaction that decides it")
    try:
        with transaction.atomic():  # a savepoint: a refused queueing lock spoils nothing
            defer(app.configure_task(name, lock=lock, queueing_lock=queueing_lock), **kwargs)
    except AlreadyEnqueued:
        return False
    return True


def transfer_lock(transfer_id: int) -> str:
    return f"transfer-{transfer_id}"


def payout_send_defer(transfer_id: int, *, first: bool = False) -> bool:
    """Send the transfer ``transfer_id`` (``first``: just planned, never tried)."""
    return _defer(
        PAYOUT_SEND,
        lock=transfer_lock(transfer_id),
        queueing_lock=f"payout-send-{transfer_id}",
        transfer_id=transfer_id,
        first=first,
    )


def payout_reversal_send_defer(transfer_id: int) -> bool:
    """Take back at Stripe what refunds took back of the sent transfer ``transfer_id``."""
    return _defer(
        PAYOUT_REVERSAL_SEND,
        lock=transfer_lock(transfer_id),
        queueing_lock=f"payout-reversal-{transfer_id}",
        transfer_id=transfer_id,
    )


def refund_send_defer(refund_id: int, *, first: bool = False) -> bool:
    """Ask Stripe for the refund request ``refund_id`` (``first``: just asked)."""
    return _defer(
        REFUND_SEND,
        lock=f"refund-{refund_id}",
        queueing_lock=f"refund-send-{refund_id}",
        refund_id=refund_id,
        first=first,
    )


def checkout_lock(checkout_id: int) -> str:
    return f"checkout-{checkout_id}"


def checkout_open_defer(checkout_id: int, *, success_url: str, cancel_url: str) -> bool:
    """Open (or check that it is still open) the session of ``checkout_id``."""
    return _defer(
        CHECKOUT_OPEN,
        lock=checkout_lock(checkout_id),
        queueing_lock=f"checkout-open-{checkout_id}",
        checkout_id=checkout_id,
        success_url=success_url,
        cancel_url=cancel_url,
    )


def checkout_refresh_defer(checkout_id: int) -> bool:
    """Ask Stripe how the session of ``checkout_id`` stands, and settle it."""
    return _defer(
        CHECKOUT_REFRESH,
        lock=checkout_lock(checkout_id),
        queueing_lock=f"checkout-refresh-{checkout_id}",
        checkout_id=checkout_id,
    )


def checkout_expire_defer(checkout_id: int) -> bool:
    """Close the session of ``checkout_id`` at Stripe, so that it can no longer be paid."""
    return _defer(
        CHECKOUT_EXPIRE,
        lock=checkout_lock(checkout_id),
        queueing_lock=f"checkout-expire-{checkout_id}",
        checkout_id=checkout_id,
    )


def job_state(queueing_lock: str) -> str | None:
    """Where the latest job deferred under ``queueing_lock`` stands, for a page
    waiting on it: ``waiting`` (not tried yet, or running), ``retrying`` (tried,
    to be tried again later), or None (done, or given up)."""
    from_queue = ProcrastinateJob.objects.filter(queueing_lock=queueing_lock).order_by("-id")
    job = from_queue.values("status", "attempts").first()
    if job is None or job["status"] not in ("todo", "doing"):
        return None
    return "retrying" if job["status"] == "todo" and job["attempts"] else "waiting"


def checkout_open_state(checkout_id: int) -> str | None:
    return job_state(f"checkout-open-{checkout_id}")


def checkout_refresh_state(checkout_id: int) -> str | None:
    return job_state(f"checkout-refresh-{checkout_id}")

"""The accounts app's jobs: delivering the emails of the outbox (`accounts.outbox`)."""

from procrastinate.contrib.django import app

from cagette.jobs import RETRY

from .delivery import email_deliver


@app.task(name="email_send", retry=RETRY)
def email_send(email_id: int) -> None:
    """Deliver the stored email ``email_id``, once (see `accounts.delivery`)."""
    email_deliver(email_id)

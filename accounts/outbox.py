"""Emails decided by the app, kept until they are delivered (the outbox).

`email_queue` is called inside the transaction that decides an email (an
order recorded, a reminder asked for): it stores the rendered message and
defers its job in that same transaction, so that a rollback leaves neither and
a commit both. The job (`accounts.tasks.email_send`) delivers it, trying again
for a day while the mail server is away; an address the server refuses stops
it at once. Either way the admin sees, on the page of what the email was
about, an email that could not be sent, and can send it again.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils.translation import gettext as _

from cagette.jobs import defer, retry_attempts

from .models import EmailStatus, Market, OutgoingEmail, User
from .tasks import email_send


def email_queue(
    message: EmailMultiAlternatives,
    *,
    key: str,
    about: str = "",
    market: Market | None = None,
    user: User | None = None,
) -> OutgoingEmail:
    """Store ``message`` and defer its sending; ``key`` makes a second call a no-op."""
    html = next((body for body, kind in message.alternatives if kind == "text/html"), "")
    with transaction.atomic():
        email, created = OutgoingEmail.objects.get_or_create(
            key=key,
            defaults={
                "about": about,
                "market": market,
                "user": user,
                "to": message.to[0],
                "subject": message.subject,
                "body": message.body,
                "html": html,
            },
        )
        if created:
            defer(email_send, email_id=email.pk)
    return email


def email_retry(email: OutgoingEmail) -> bool:
    """Send again an email that could not be sent (the admin's « Renvoyer »).

    False when it is not in that state any more (sent meanwhile, or already
    queued again by a double click): nothing is queued twice.
    """
    with transaction.atomic():
        updated = OutgoingEmail.objects.filter(pk=email.pk, status=EmailStatus.FAILED).update(
            status=EmailStatus.PENDING, attempts=0, last_error=""
        )
        if updated:
            defer(email_send, email_id=email.pk)
    return bool(updated)


def emails_not_sent(*about: str):
    """The emails about ``about`` (one or several) that could not be sent, newest first."""
    return OutgoingEmail.objects.filter(about__in=about, status=EmailStatus.FAILED)


def email_failure_reason(email: OutgoingEmail) -> str:
    """Why ``email`` could not be sent, in words an admin reads (the details in ``last_error``)."""
    if email.attempts >= retry_attempts():
        return _("serveur de messagerie injoignable depuis %(hours)s h") % {
            "hours": settings.JOB_RETRY_FOR_HOURS
        }
    if email.last_error.startswith("SMTPRecipientsRefused"):
        return _("adresse refusée par le serveur de messagerie")
    if email.last_error.startswith("SMTP"):
        return _("message refusé par le serveur de messagerie")
    return _("message impossible à envoyer tel quel")


def emails_about(about: str) -> tuple[OutgoingEmail | None, list[OutgoingEmail]]:
    """The last email decided about ``about`` (an order's recap or complement), if
    any, and those about it that could not be sent (as `emails_not_sent`), newest
    first, in one query: an object has a few emails. Their bodies are not read.
    """
    emails = list(OutgoingEmail.objects.filter(about=about).defer("body", "html"))
    not_sent = [email for email in emails if email.status == EmailStatus.FAILED]
    return (emails[0] if emails else None), not_sent

"""Delivering one stored email, once, telling a mail server that is away from an
address that is refused.

The email's row stays locked while the mail server is spoken to, so that a
second worker given the same job waits and then finds it sent. A mail server
that is down, slow, or answers "try later" (4xx) makes the job try again
later (`cagette.jobs.Temporary`); one that refuses the message for good (5xx:
no such address, rejected) marks the email not sent, with the reason, and the
job stops. So does the last try of a day of tries.
"""

import smtplib

from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone

from cagette.http import outside_requests
from cagette.jobs import Temporary, retry_attempts

from .models import EmailStatus, OutgoingEmail


def email_deliver(email_id: int) -> None:
    with transaction.atomic():
        email = OutgoingEmail.objects.select_for_update().get(pk=email_id)
        if email.status != EmailStatus.PENDING:
            return  # sent already, or given up: a retried job does nothing
        email.attempts += 1
        temporary, error = _send(email)
        if error is None:
            email.status, email.sent_at, email.last_error = EmailStatus.SENT, timezone.now(), ""
        else:
            email.last_error = error
            if not temporary or email.attempts >= retry_attempts():
                email.status = EmailStatus.FAILED
        email.save(update_fields=["status", "sent_at", "last_error", "attempts"])
    if error is not None and email.status == EmailStatus.PENDING:
        raise Temporary(error)


def _send(email: OutgoingEmail) -> tuple[bool, str | None]:
    """Send; ``(temporary, error)`` with ``error`` None when the server took it."""
    message = EmailMultiAlternatives(
        email.subject, email.body, to=[email.to], connection=get_connection(fail_silently=False)
    )
    if email.html:
        message.attach_alternative(email.html, "text/html")
    outside_requests("An email sent")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        return not any(code >= 500 for code in codes), _describe(error)
    except smtplib.SMTPAuthenticationError as error:
        return True, _describe(error)  # our settings are wrong, not the address
    except smtplib.SMTPResponseException as error:
        return error.smtp_code < 500, _describe(error)
    except OSError as error:  # refused connection, timeout, disconnection
        return True, _describe(error)
    except (ValueError, UnicodeError) as error:  # a message no server will take
        return False, _describe(error)
    return False, None


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]

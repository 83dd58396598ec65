"""The outbox as the admin reads it: why an email was not sent, and where it stands."""

from django import template

from ..models import EmailStatus, OutgoingEmail
from ..outbox import email_failure_reason

register = template.Library()


@register.filter
def not_sent_reason(email: OutgoingEmail) -> str:
    """« adresse refusée par le serveur de messagerie », and the like."""
    return email_failure_reason(email)


@register.inclusion_tag("accounts/_email_status.html")
def email_status(email: OutgoingEmail | None):
    """« email envoyé », « email en attente » or « email non envoyé », as a badge."""
    return {"email": email, "statuses": EmailStatus}

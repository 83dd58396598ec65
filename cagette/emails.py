"""Emails built from templates, in the recipient's language.

Each email is three templates: ``emails/<name>-subject.txt``, ``-body.txt`` and
``-body.html``. The subject is made one line, keeping the no-break spaces of
French typography (before « : », inside « », in amounts).
"""

import re
from collections.abc import Mapping

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .i18n import language_of

# ASCII whitespace only: a no-break space is part of the text.
_BREAKS = re.compile(r"[ \t\r\n]+")


def email_build(name: str, context: Mapping, *, to) -> EmailMultiAlternatives:
    """The email ``name`` for the user ``to``, rendered in their language."""
    with language_of(to):
        subject = _BREAKS.sub(" ", render_to_string(f"emails/{name}-subject.txt", context))
        body = render_to_string(f"emails/{name}-body.txt", context)
        html = render_to_string(f"emails/{name}-body.html", context)
    message = EmailMultiAlternatives(subject.strip(), body, settings.DEFAULT_FROM_EMAIL, [to.email])
    message.attach_alternative(html, "text/html")
    return message

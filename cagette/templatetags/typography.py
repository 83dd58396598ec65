"""Punctuation that differs between the interface's languages.

A label and its value (« Montant : 12,50 € », "Amount: €12.50") join with a
colon that French writes after a no-break space and English does not: the
`colon` tag writes it in the active language, for templates whose label is a
`translate` tag and whose value follows it.
"""

from django import template
from django.utils.translation import get_language

register = template.Library()

NBSP = "\u00a0"


@register.simple_tag
def colon() -> str:
    """« : » after a label, as the active language writes it."""
    return f"{NBSP}:" if (get_language() or "fr").startswith("fr") else ":"

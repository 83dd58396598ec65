from django.conf import settings
from django.utils import translation


def stored_language():
    """Text saved in the books is written in the market's language (French),
    whatever language the person recording it reads the site in."""
    return translation.override(settings.LANGUAGE_CODE)


def supported_language(code: str | None) -> str | None:
    """``code`` if the site is offered in it, else None."""
    return code if code in dict(settings.LANGUAGES) else None


def language_of(user):
    """Write to ``user`` in their language: the one they chose, else the site's.

    Emails are rendered inside it, so a client who reads the site in English
    gets English emails even when a French-speaking admin's action sends them.
    """
    chosen = supported_language(getattr(user, "language", ""))
    return translation.override(chosen or settings.LANGUAGE_CODE)

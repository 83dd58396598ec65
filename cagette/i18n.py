from django.conf import settings
from django.utils import translation


def stored_language():
    """Text saved in the books is written in the market's language (French),
    whatever language the person recording it reads the site in."""
    return translation.override(settings.LANGUAGE_CODE)

"""Text typed in a search box: made safe to put in a query, and matched
without regard to accents or case.

Every search box goes through `matching_words`: « lea », « LÉA » and « Léa »
find the same people. Both sides are folded in PostgreSQL by
``cagette_fold(text)`` (``lower(unaccent(text))``, declared IMMUTABLE so an
expression index can hold it; see ``accounts`` migration 0008), so the typed
word and the stored text are folded by the same rules (« œ » → « oe »…).
"""

from django.db.models import Expression, F, Func, Q, TextField, Value
from django.db.models.lookups import Contains

SEARCH_MAX_LENGTH = 100


def clean_search(text: str | None, max_length: int = SEARCH_MAX_LENGTH) -> str:
    """The search text without NUL characters or surrounding spaces, cut to ``max_length``.

    PostgreSQL refuses a NUL character in text (the query fails, a 500) and
    nobody types one on purpose: a ``%00`` in the URL is dropped, not searched.
    """
    return (text or "").replace("\x00", "").strip()[:max_length]


class Folded(Func):
    """Text in lower case and without accents, as searches compare it."""

    function = "cagette_fold"
    arity = 1
    output_field = TextField()


class PersonText(Func):
    """A person's first name, last name and email, folded: what a name search reads.

    One SQL function (``cagette_person_text``) so that the query and the
    trigram index on users are the same expression, and PostgreSQL uses it.
    """

    function = "cagette_person_text"
    arity = 3
    output_field = TextField()

    def __init__(self, prefix: str = "", **extra):
        fields = ("first_name", "last_name", "email")
        super().__init__(*(F(f"{prefix}{name}") for name in fields), **extra)


def matching_words(haystack: Expression, text: str) -> Q:
    """Each word of ``text`` somewhere in ``haystack``, ignoring accents and case.

    Words are matched apart, so « lea dubois » and « dubois lea » both find
    Léa Dubois. Empty text matches everything.
    """
    query = Q()
    for word in clean_search(text).split():
        query &= Q(Contains(haystack, Folded(Value(word))))
    return query

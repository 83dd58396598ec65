"""Text typed in a search box, made safe to put in a query."""

SEARCH_MAX_LENGTH = 100


def clean_search(text: str | None, max_length: int = SEARCH_MAX_LENGTH) -> str:
    """The search text without NUL characters or surrounding spaces, cut to ``max_length``.

    PostgreSQL refuses a NUL character in text (the query fails, a 500) and
    nobody types one on purpose: a ``%00`` in the URL is dropped, not searched.
    """
    return (text or "").replace("\x00", "").strip()[:max_length]

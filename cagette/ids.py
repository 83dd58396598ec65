"""Row ids read from what a person or a browser sends: the database's range only."""

# Ids the database can hold (bigint); past that some backends raise instead of
# finding nothing.
MAX_ID = 2**63 - 1


def is_id(pk: int) -> bool:
    return 0 < pk <= MAX_ID


def id_from(text: str) -> int | None:
    """The id written in ``text`` (plain ASCII digits), or None: forged, « ² », huge."""
    if not (text.isascii() and text.isdigit()):
        return None
    pk = int(text)
    return pk if is_id(pk) else None

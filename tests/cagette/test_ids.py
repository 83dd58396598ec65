"""Ids read from requests: only what the database can hold."""

import pytest

from cagette.ids import MAX_ID, id_from


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (str(MAX_ID), MAX_ID),
        ("0", None),
        (str(MAX_ID + 1), None),
        ("²", None),
        ("-1", None),
        ("1e3", None),
        ("", None),
        (" 4", None),
    ],
)
def test_an_id_is_plain_digits_within_the_databases_range(text, expected):
    assert id_from(text) == expected

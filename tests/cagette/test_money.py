from decimal import Decimal

import pytest

from cagette.money import MoneyField, format_euros, parse_amount

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("1234.56"), f"1{NBSP}234,56{NBSP}€"),
        (Decimal("-8"), f"-8,00{NBSP}€"),
        (Decimal("0"), f"0,00{NBSP}€"),
        (Decimal("1234567.5"), f"1{NBSP}234{NBSP}567,50{NBSP}€"),
    ],
)
def test_amounts_are_written_the_french_way(amount, text):
    assert format_euros(amount) == text


@pytest.mark.parametrize("text", ["12,50", "12.50", " 12,5 ", "12,50 €", f"12,50{NBSP}€"])
def test_a_typed_amount_accepts_comma_or_point(text):
    assert parse_amount(text) == Decimal("12.5")


@pytest.mark.parametrize("text", ["", "abc", "1e3", "12,5,0", "NaN", "Infinity", "--3", "1 2a"])
def test_what_is_not_an_amount_is_refused(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def _errors(field, value):
    try:
        field.clean(value)
    except Exception as exc:  # ValidationError
        return exc.messages
    return []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("douze", "Saisissez un montant en euros, par exemple 12,50."),
        ("0", "Le montant ne peut pas être nul."),
        ("0,00", "Le montant ne peut pas être nul."),
        ("-5", "Le montant doit être positif."),
        ("12,345", "Le montant ne peut pas avoir plus de 2 décimales."),
        ("100000,01", f"Le montant ne peut pas dépasser 100{NBSP}000,00{NBSP}€."),
        ("9" * 60, f"Le montant ne peut pas dépasser 100{NBSP}000,00{NBSP}€."),
    ],
)
def test_money_field_explains_bad_amounts_in_french(value, message):
    assert _errors(MoneyField(), value) == [message]


def test_money_field_returns_a_decimal_with_two_places():
    assert MoneyField().clean("12,5") == Decimal("12.50")
    assert str(MoneyField().clean("100000")) == "100000.00"


def test_money_field_can_allow_negative_amounts_but_never_zero():
    field = MoneyField(allow_negative=True)
    assert field.clean("-32,40") == Decimal("-32.40")
    assert _errors(field, "-0") == ["Le montant ne peut pas être nul."]

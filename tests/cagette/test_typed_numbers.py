"""Every amount, quantity and percentage a person types is read one way (`parse_decimal`)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from cagette.money import (
    MoneyField,
    NumberTooLong,
    format_quantity,
    parse_amount,
    parse_decimal,
    typed_back,
)
from distributions.cash.forms import CashCountForm
from distributions.day.forms import AddPaymentForm, ReceiveForm, RefundForm
from orders.forms import ProductForm
from orders.models import Product
from orders.services import CheckoutError, parse_quantity
from payments.forms import OpeningBalanceForm, PaymentForm
from payments.settings_forms import commission_normalized
from payments.stripe.forms import OnlineRefundForm

NOT_ASCII_NUMBERS = ["1_0", "1E2", "1e999999999", "\uff11\uff12", "\u0663", "١٢,٥", "²", "1,2.3"]
AMOUNT_MESSAGE = "Saisissez un montant en euros, par exemple 12,50."


def _field_errors(clean, text) -> list[str]:
    try:
        clean(text)
    except ValidationError as exc:
        return exc.messages
    except CheckoutError as exc:
        return [str(exc.message)]
    return []


def _quantity(text):
    return parse_quantity(text, Product(name="Carottes", unit="kg"))


# Each kind of field that reads a number, as the forms of every app declare it.
FIELDS = {
    "payment amount": (PaymentForm.base_fields["amount"].clean, AMOUNT_MESSAGE),
    "reprise de solde": (OpeningBalanceForm.base_fields["amount"].clean, AMOUNT_MESSAGE),
    "basket payment": (ReceiveForm.base_fields["amount"].clean, AMOUNT_MESSAGE),
    "basket added payment": (AddPaymentForm.base_fields["amount"].clean, AMOUNT_MESSAGE),
    "change given back": (RefundForm.base_fields["amount"].clean, AMOUNT_MESSAGE),
    "online refund": (OnlineRefundForm.base_fields["amount"].clean, AMOUNT_MESSAGE),
    "cash count": (CashCountForm.base_fields["counted"].clean, AMOUNT_MESSAGE),
    "product price": (ProductForm.base_fields["unit_price"].clean, AMOUNT_MESSAGE),
    # The order edit form builds one price field per line, a MoneyField like the others.
    "order edit price": (MoneyField(label="Prix unitaire").clean, AMOUNT_MESSAGE),
    "settings commission": (
        commission_normalized,
        "Saisissez un pourcentage, par exemple 2,5.",
    ),
    "shop and order edit quantity": (_quantity, "n'est pas une quantité valable pour Carottes"),
}


@pytest.mark.parametrize("text", NOT_ASCII_NUMBERS)
@pytest.mark.parametrize("kind", FIELDS)
def test_every_number_field_refuses_what_is_not_plain_ascii_digits(kind, text):
    clean, message = FIELDS[kind]

    errors = _field_errors(clean, text)

    assert len(errors) == 1
    assert message in errors[0]


@pytest.mark.parametrize("kind", FIELDS)
def test_every_number_field_refuses_thousands_of_digits_before_converting_them(kind):
    clean, _message = FIELDS[kind]

    errors = _field_errors(clean, "9" * 5000)

    assert len(errors) == 1
    assert len(errors[0]) < 200  # refused, and not written back in the message


@pytest.mark.parametrize("kind", FIELDS)
def test_every_number_field_still_reads_a_comma_or_a_point(kind):
    clean, _message = FIELDS[kind]

    assert _field_errors(clean, "2,5") == []
    assert _field_errors(clean, "2.5") == []


@pytest.mark.parametrize("text", ["12", "12,5", "12.5", "-3", "+3", ",5", " 7 ", "007"])
def test_plain_numbers_are_read(text):
    assert parse_decimal(text) == Decimal(text.replace(",", "."))


def test_an_amount_may_group_its_digits_and_a_quantity_may_not():
    assert parse_amount("1 234,50 €") == Decimal("1234.50")
    with pytest.raises(ValueError):
        parse_decimal("1 5")


def test_a_number_with_more_digits_than_any_amount_is_refused_as_too_large():
    with pytest.raises(NumberTooLong):
        parse_decimal("1" + "0" * 40)


@pytest.mark.parametrize("text", ["0," + "1" * 40, "0" * 40 + "1"])
def test_a_long_number_that_is_not_large_is_refused_as_no_number(text):
    with pytest.raises(ValueError) as refused:
        parse_decimal(text)
    assert not isinstance(refused.value, NumberTooLong)


def test_what_was_typed_is_shown_back_only_when_short():
    assert typed_back("1e999999999") == "1e999999999"
    assert typed_back("9" * 5000) == ""


@pytest.mark.parametrize(
    "value",
    ["1e999999999", Decimal("1e999999999"), Decimal("1e-999999999"), "9" * 5000],
    ids=["typed exponent", "huge", "tiny", "5000 digits"],
)
def test_a_quantity_is_never_written_out_in_expanded_form(value):
    assert len(format_quantity(value)) <= 20


@pytest.mark.parametrize(("value", "shown"), [("1.500", "1,5"), (Decimal("10.000"), "10")])
def test_a_quantity_is_written_the_french_way(value, shown):
    assert format_quantity(value) == shown

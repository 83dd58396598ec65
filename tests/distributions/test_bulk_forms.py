"""The bulk confirmation's POST is read by a form, not by the view."""

from django.http import QueryDict

from distributions.day.bulk_forms import BulkConfirmForm


def _read(body: str) -> dict:
    form = BulkConfirmForm(QueryDict(body))
    assert form.is_valid()
    return form.cleaned_data


def test_the_form_reads_the_listed_baskets_and_payments_from_one_field_each():
    data = _read("order=3+5+8&payment=13+21")

    assert data["order_ids"] == [3, 5, 8]
    assert data["payment_ids"] == [13, 21]


def test_the_form_reads_one_field_per_id_as_earlier_pages_sent_them():
    assert _read("order=3&order=5")["order_ids"] == [3, 5]


def test_the_form_ignores_what_is_not_an_id():
    assert _read("order=3+abc+-1+99999999999999999999")["order_ids"] == [3]


def test_the_form_reads_each_cheque_number_with_its_bank():
    data = _read("cheque-7=1234567&bank-7=CIC&cheque-x=9&other-8=1")

    assert data["cheques"] == {7: ("1234567", "CIC")}

"""``{% form_fields %}`` gives the markup ``{% crispy %}`` gives, and ``{% widget %}`` the
markup ``{{ field }}`` gives: elements and attributes alike."""

from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django import forms
from django.template import engines

from cagette.templatetags.fields import FieldWidgetUnknown
from distributions.day.forms import AddPaymentForm, RefundForm
from payments.forms import OpeningBalanceForm, PaymentForm
from payments.methods import PaymentMethod
from payments.views.clients import MANUAL_METHODS

TOKEN = "0123456789abcdef0123456789abcdef"


class _Elements(HTMLParser):
    """Tags with their attributes (class names in any order) and texts, spacing aside."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = {k: " ".join(sorted(v.split())) if k == "class" else v for k, v in attrs}
        self.found.append((tag, attrs))

    def handle_endtag(self, tag):
        self.found.append(("/" + tag,))

    def handle_data(self, data):
        if data.split():
            self.found.append(" ".join(data.split()))


def _elements(template: str, form, **context) -> list:
    parser = _Elements()
    parser.feed(engines["django"].from_string(template).render({"form": form, **context}))
    return parser.found


def _crispy(form):
    return _elements("{% load crispy_forms_tags %}{% crispy form %}", form)


def _form_fields(form):
    return _elements("{% load fields %}{% form_fields form %}", form)


FORMS = {
    "fresh payment": lambda: PaymentForm(methods=MANUAL_METHODS, initial={"form_token": TOKEN}),
    "fresh opening balance": lambda: OpeningBalanceForm(initial={"form_token": TOKEN}),
    "payment with errors": lambda: PaymentForm(
        {
            "payment-method": "cheque",
            "payment-amount": "abc",
            "payment-paid_on": "2099-01-01",
            "payment-reference": "<b>x</b>",
        },
        methods=MANUAL_METHODS,
    ),
    "valid payment": lambda: PaymentForm(
        {
            "payment-method": "transfer",
            "payment-amount": "12,5",
            "payment-paid_on": "2020-01-01",
            "payment-form_token": TOKEN,
        },
        methods=MANUAL_METHODS,
    ),
    "opening balance with errors and help": lambda: OpeningBalanceForm(
        {"opening-amount": "", "opening-label": "R", "opening-date": "", "opening-form_token": "z"}
    ),
}


@pytest.mark.parametrize("make", FORMS.values(), ids=FORMS.keys())
def test_the_fields_are_the_ones_crispy_renders(make):
    # Two forms: crispy writes its classes into the widgets of the form it renders.
    shown_by_crispy, shown_here = make(), make()
    if shown_by_crispy.is_bound:
        shown_by_crispy.is_valid(), shown_here.is_valid()

    assert _form_fields(shown_here) == _crispy(shown_by_crispy)


def test_a_field_value_is_escaped():
    form = FORMS["payment with errors"]()
    form.is_valid()

    html = engines["django"].from_string("{% load fields %}{% form_fields form %}")
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in html.render({"form": form})


def test_a_widget_it_does_not_know_is_refused():
    class Notes(forms.Form):
        text = forms.CharField(widget=forms.Textarea)

    with pytest.raises(FieldWidgetUnknown):
        _form_fields(Notes())


BASKET_FORMS = {
    "fresh added payment": lambda: AddPaymentForm(
        methods=[PaymentMethod.CASH, PaymentMethod.CHEQUE], amount=Decimal("12.50")
    ),
    "added payment with errors": lambda: AddPaymentForm(
        {"ajout-method": "cheque", "ajout-amount": "douze", "ajout-bank": "<La Poste>"},
        methods=[PaymentMethod.CASH, PaymentMethod.CHEQUE],
    ),
    "fresh change": lambda: RefundForm(amount=Decimal("3.20")),
    "change with errors": lambda: RefundForm({"monnaie-amount": ""}),
    "opening balance with help": lambda: OpeningBalanceForm(initial={"form_token": TOKEN}),
}


@pytest.mark.parametrize("make", BASKET_FORMS.values(), ids=BASKET_FORMS.keys())
def test_each_widget_is_the_one_django_renders(make):
    form = make()
    if form.is_bound:
        form.is_valid()

    for field in form:
        django = _elements("{{ field }}", form, field=field)
        assert _elements("{% load fields %}{% widget field %}", form, field=field) == django

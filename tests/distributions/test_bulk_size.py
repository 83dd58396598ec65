"""Bulk validation of a distribution at real size: hundreds of baskets in one form."""

from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.auth.hashers import make_password
from django.db.models import Count
from django.urls import reverse

from accounts.models import Membership, Role, User
from distributions.day import bulk_views as day_views
from orders.models import Order, order_reference
from payments.ledger import client_account
from payments.models import Payment, PaymentStatus, Transaction, TransactionKind
from tests.factories_catalog import DistributionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

AMOUNT = Decimal("20.80")
# How each basket is paid, in turn: a cheque with its number, one whose
# number is typed on the page, and the rest handed over at the pickup.
CHOICES = ["cash", "cheque", "cheque-unnumbered", "card_terminal"]


class FormFields(HTMLParser):
    """The fields a browser would send from each POST form of a page."""

    def __init__(self):
        super().__init__()
        self.forms: list[list[tuple[str, str]]] = []
        self._current: list[tuple[str, str]] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method") == "post":
            self._current = []
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attrs.get("name"):
            self._current.append((attrs["name"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def form_fields(page: str) -> list[tuple[str, str]]:
    """The bulk validation form's fields (the page has others: the language switcher)."""
    parser = FormFields()
    parser.feed(page)
    (bulk,) = [form for form in parser.forms if any(name == "order" for name, _v in form)]
    return bulk


def build_baskets(market, distribution, count: int) -> list[Order]:
    """``count`` baskets of 20,80 €, each with its expected payment, made in bulk."""
    password = make_password("x")
    users = User.objects.bulk_create(
        User(
            email=f"client{n}@exemple.fr",
            first_name="Client",
            last_name=f"n°{n}",
            password=password,
        )
        for n in range(count)
    )
    members = Membership.objects.bulk_create(
        Membership(user=user, market=market, role=Role.CLIENT) for user in users
    )
    orders = Order.objects.bulk_create(
        Order(
            market=market,
            distribution=distribution,
            membership=member,
            number=n + 1,
            reference=order_reference(distribution.date, n + 1),
            total=AMOUNT,
            payment_method=CHOICES[n % len(CHOICES)].removesuffix("-unnumbered"),
        )
        for n, member in enumerate(members)
    )
    Payment.objects.bulk_create(_expected_payment(order, n) for n, order in enumerate(orders))
    for member in members:
        client_account(member)
    return orders


def _expected_payment(order: Order, n: int) -> Payment:
    choice = CHOICES[n % len(CHOICES)]
    return Payment(
        market=order.market,
        membership=order.membership,
        method=choice.removesuffix("-unnumbered"),
        amount=AMOUNT,
        status=PaymentStatus.PENDING,
        reference=order.reference,
        cheque_number=f"{n:07d}" if choice == "cheque" else "",
        order=order,
        distribution=order.distribution,
    )


@pytest.fixture
def distribution(market):
    market.payment_methods = ["cash", "cheque", "card_terminal"]
    market.save()
    return DistributionFactory(market=market)


def _bulk_url(distribution):
    return reverse("day_bulk", args=[distribution.market.slug, distribution.pk])


def _filled_in(fields) -> dict[str, list[str]]:
    """The form as the admin sends it: every cheque number typed, banks left blank."""
    data: dict[str, list[str]] = {}
    for name, value in fields:
        if name.startswith("cheque-"):
            value = f"9{name.removeprefix('cheque-')}"
        data.setdefault(name, []).append(value)
    return data


def test_six_hundred_baskets_are_validated_in_one_submission(
    login, admin, market, distribution, monkeypatch
):
    # A busy test machine may take longer than a confirmation's time budget,
    # which is tested on its own below.
    monkeypatch.setattr(day_views, "BULK_SECONDS", 600)
    orders = build_baskets(market, distribution, 600)
    browser = login(admin)

    page = browser.get(_bulk_url(distribution))
    assert page.status_code == 200
    fields = form_fields(page.content.decode())
    response = browser.post(_bulk_url(distribution), _filled_in(fields))

    assert response.status_code == 302
    assert not Order.objects.filter(pk__in=[o.pk for o in orders], validated_at=None).exists()
    payments = Payment.objects.filter(order__distribution=distribution)
    assert not payments.exclude(status=PaymentStatus.RECEIVED).exists()
    assert not payments.filter(cheque_number="").filter(method="cheque").exists()
    posted = Transaction.objects.filter(kind=TransactionKind.PAYMENT, payment__in=payments)
    assert posted.count() == 600
    per_order = posted.values("order").annotate(n=Count("pk")).filter(n__gt=1)
    assert not per_order.exists()


def test_the_page_sends_few_fields_however_many_baskets(login, admin, market, distribution):
    build_baskets(market, distribution, 40)

    fields = form_fields(login(admin).get(_bulk_url(distribution)).content.decode())

    # The token, the list of baskets, the list of payments, and the 10 cheques to number.
    assert len(fields) == 3 + 2 * 10


def test_cheques_to_number_past_what_one_page_can_send_wait_for_the_next_page(
    login, admin, market, distribution, settings
):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20  # room for 5 cheques to number
    orders = build_baskets(market, distribution, 40)
    browser = login(admin)

    page = browser.get(_bulk_url(distribution))
    text = page.content.decode()
    assert "autres paniers payés par chèque attendent la saisie de leur numéro" in text
    response = browser.post(_bulk_url(distribution), _filled_in(form_fields(text)))

    assert response.status_code == 302
    waiting = Order.objects.filter(pk__in=[o.pk for o in orders], validated_at=None)
    assert waiting.count() == 5
    second = browser.post(
        _bulk_url(distribution),
        _filled_in(form_fields(browser.get(_bulk_url(distribution)).content.decode())),
    )
    assert second.status_code == 302
    assert not waiting.exists()


def test_a_confirmation_that_runs_out_of_time_leaves_the_rest_for_the_next_one(
    login, admin, market, distribution, monkeypatch
):
    monkeypatch.setattr(day_views, "BULK_SECONDS", 0)  # time for one basket only
    orders = build_baskets(market, distribution, 6)
    browser = login(admin)

    fields = form_fields(browser.get(_bulk_url(distribution)).content.decode())
    response = browser.post(_bulk_url(distribution), _filled_in(fields), follow=True)

    assert response.redirect_chain[-1][0] == _bulk_url(distribution)
    message = " ".join(str(m) for m in response.context["messages"])
    assert "1 panier validé" in message
    assert "5 paniers restent à valider : vérifiez-les et confirmez à nouveau." in message
    waiting = Order.objects.filter(pk__in=[o.pk for o in orders], validated_at=None)
    assert waiting.count() == 5
    assert Transaction.objects.filter(kind=TransactionKind.PAYMENT).count() == 1

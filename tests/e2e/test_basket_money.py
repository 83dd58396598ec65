"""The basket page at the pickup: settling with the client's credit, and a second
payment that leaves the expected one pre-filled with what is still due."""

from decimal import Decimal

from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role
from orders.services import basket_read, order_checkout
from payments.ledger import client_account
from payments.models import PaymentStatus, Transaction, TransactionKind
from payments.services import opening_balance_record
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

NBSP = "\u00a0"


def _basket_of_20_80(market, first, last):
    """A client's basket of two loaves at 10,40 €, to be paid in cash."""
    market.payment_methods = ["cash", "cheque"]
    market.save()
    bread = ProductFactory(
        producer=ProducerFactory(market=market),
        name="Pain",
        unit="piece",
        unit_price=Decimal("10.40"),
    )
    member = MembershipFactory(
        market=market, user=UserFactory(first_name=first, last_name=last), role=Role.CLIENT
    )
    return member, bread


def _checkout(member, product):
    return order_checkout(
        membership=member,
        distribution=DistributionFactory(market=member.market),
        lines=basket_read(member.market, {product.pk: "2"}),
        choice="cash",
        token=f"basket-{member.pk}",
        notify=False,
    )


def _basket_url(order):
    return reverse("day_basket", args=[order.market.slug, order.distribution_id, order.pk])


def test_admin_settles_a_basket_with_the_clients_credit_then_validates_it(
    page, log_in, market, admin
):
    lea, bread = _basket_of_20_80(market, "Léa", "Dubois")
    opening_balance_record(
        membership=lea, amount=Decimal("30.00"), label="Reprise", recorded_by=admin.user
    )
    order = _checkout(lea, bread)

    log_in(admin)
    page.goto(_basket_url(order))
    box = page.locator("#settle-from-credit")
    expect(box).to_contain_text("Le solde du client couvre ce panier")
    expect(box).to_contain_text(f"il lui reste 9,20{NBSP}€ d'avoir")
    expect(page.locator("#basket-due")).to_contain_text("couvert par son avoir")
    expect(page.locator("#refund")).to_have_count(0)
    box.get_by_role("button", name="Régler avec son avoir").click()

    expect(page.get_by_role("alert").first).to_contain_text("réglé avec l'avoir du client")
    expect(page.locator("#basket-due")).to_have_text(f"0,00{NBSP}€")
    expect(page.locator("#on-balance")).to_contain_text("avec son solde")
    expect(page.locator(".expected-payment")).to_have_count(0)
    page.get_by_role("button", name="Valider le panier").click()
    expect(page.get_by_role("alert").first).to_contain_text("Léa Dubois validé")

    order.refresh_from_db()
    assert order.is_validated
    assert order.payments.get().status == PaymentStatus.CANCELLED
    assert not Transaction.objects.filter(kind=TransactionKind.PAYMENT).exists()
    assert client_account(lea).held == Decimal("9.20")


def test_after_a_second_payment_the_expected_one_asks_only_for_what_is_still_due(
    page, log_in, market, admin
):
    hugo, bread = _basket_of_20_80(market, "Hugo", "Petit")
    order = _checkout(hugo, bread)

    log_in(admin)
    page.goto(_basket_url(order))
    expected = page.locator(".expected-payment")
    expect(expected.get_by_label("Montant reçu")).to_have_value("20,80")
    adding = page.locator("#add-payment")
    adding.locator("summary").click()
    adding.get_by_label("Moyen de paiement").select_option("cash")
    adding.get_by_label("Montant").fill("5")
    adding.get_by_role("button", name="Ajouter le paiement").click()

    expect(page.get_by_role("alert").first).to_contain_text("Paiement de 5,00")
    expect(expected.get_by_label("Montant reçu")).to_have_value("15,80")
    expect(expected).to_contain_text(f"reste 15,80{NBSP}€ à encaisser")
    expected.get_by_role("button", name="Encaisser").click()

    alert = page.get_by_role("alert").first
    expect(alert).to_contain_text(f"15,80{NBSP}€ encaissé")
    expect(alert).not_to_contain_text("prévu")
    expect(page.locator("#basket-due")).to_have_text(f"0,00{NBSP}€")
    expect(page.get_by_role("button", name="Valider le panier")).to_be_enabled()
    assert client_account(hugo).held == Decimal("0.00")
    received = order.payments.filter(status=PaymentStatus.RECEIVED)
    assert sorted(p.amount for p in received) == [Decimal("5.00"), Decimal("15.80")]

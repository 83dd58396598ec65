"""The admin's journey through a distribution day: the baskets, the « Paiement » box."""

import re
from decimal import Decimal

from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role
from orders.services import basket_read, order_checkout
from payments.ledger import client_account
from payments.models import PaymentStatus
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory


def _client(market, first, last):
    user = UserFactory(first_name=first, last_name=last)
    return MembershipFactory(market=market, user=user, role=Role.CLIENT)


def _order(member, distribution, product, choice, token):
    return order_checkout(
        membership=member,
        distribution=distribution,
        lines=basket_read(member.market, {product.pk: "2"}),
        choice=choice,
        token=token,
        notify=False,
    )


def test_admin_validates_a_cash_basket_and_a_cheque_basket_then_counts_the_till(
    page, log_in, market, admin
):
    market.payment_methods = ["cash", "cheque"]
    market.save()
    bread = ProductFactory(
        producer=ProducerFactory(market=market),
        name="Pain",
        unit="piece",
        unit_price=Decimal("5.20"),
    )
    hugo = _client(market, "Hugo", "Petit")
    _order(hugo, DistributionFactory(market=market), bread, "cheque", "earlier")
    distribution = DistributionFactory(market=market)
    lea = _client(market, "Léa", "Dubois")
    lea_order = _order(lea, distribution, bread, "cash", "lea")
    # Hugo pays « sur place »: the admin records how at the pickup.
    hugo_order = _order(hugo, distribution, bread, "on_site", "hugo")

    log_in(admin)
    page.goto(reverse("day_distribution", args=[market.slug, distribution.pk]))
    expect(page.get_by_role("heading", name=re.compile("Distribution du"))).to_be_visible()
    lea_row = page.locator(f"#basket-{lea_order.number}")
    hugo_row = page.locator(f"#basket-{hugo_order.number}")
    expect(lea_row.locator(".new-client")).to_have_text("★")
    expect(lea_row).to_contain_text("nouveau client")
    expect(hugo_row.locator(".new-client")).to_have_count(0)
    expect(page.locator("#total-amount")).to_have_text("20,80\u00a0€")

    # Léa pays the 10,40 € she declared in cash.
    lea_row.click()
    expect(page.get_by_role("heading", name=re.compile("Léa Dubois"))).to_be_visible()
    box = page.locator(".expected-payment")
    expect(box.get_by_label("Moyen de paiement utilisé")).to_have_value("cash")
    expect(box.get_by_label("Montant reçu")).to_have_value("10,40")
    box.get_by_role("button", name="Encaisser").click()
    expect(page.get_by_role("alert").first).to_contain_text("Espèces : 10,40")
    expect(page.locator("#received-payments")).to_contain_text("reçu par")
    page.get_by_role("button", name="Valider le panier").click()
    expect(page.get_by_role("alert").first).to_contain_text("Léa Dubois validé")

    # Hugo decides at the pickup: a cheque, with its number and bank.
    hugo_row.click()
    box = page.locator(".expected-payment")
    expect(page.get_by_role("button", name="Valider le panier")).to_be_disabled()
    expect(page.locator("#blockers")).to_contain_text("Choisissez le moyen de paiement")
    expect(box.get_by_label("Numéro de chèque")).to_be_hidden()
    box.get_by_label("Moyen de paiement utilisé").select_option("cheque")
    box.get_by_label("Numéro de chèque").fill("0012345")
    box.get_by_label("Banque").fill("Crédit Agricole")
    box.get_by_role("button", name="Encaisser").click()
    expect(page.locator("#received-payments")).to_contain_text("n° 0012345 · Crédit Agricole")
    page.get_by_role("button", name="Valider le panier").click()

    expect(page.get_by_role("alert").first).to_contain_text("Hugo Petit validé")
    expect(lea_row).to_contain_text("Validé")
    expect(hugo_row).to_contain_text("Validé")
    expect(page.locator("#total-validated")).to_have_text("2 / 2")
    cheque = hugo_order.payments.get()
    assert (cheque.status, cheque.method, cheque.cheque_number) == (
        PaymentStatus.RECEIVED,
        "cheque",
        "0012345",
    )
    assert client_account(lea).held == Decimal("0.00")

    # The end of the day: Encaissements shows both, and the till is right.
    page.get_by_role("link", name="Encaissements").first.click()
    expect(page.get_by_role("heading", name=re.compile("Encaissements"))).to_be_visible()
    expect(page.locator("#cheques")).to_contain_text("0012345")
    expect(page.locator("#cheques")).to_contain_text("Hugo Petit")
    expect(page.locator("#cheques")).to_contain_text("10,40\u00a0€")
    expect(page.locator("#till-in")).to_have_text("10,40\u00a0€")
    page.locator("#id_opening_float").fill("50")
    page.locator("#id_counted").fill("60,40")
    page.locator("#cash-count-form button[type=submit]").click()
    expect(page.locator("#till-expected")).to_have_text("60,40\u00a0€")
    expect(page.locator("#till-difference")).to_contain_text("0,00\u00a0€ · caisse juste")

"""A client's journey: fill a basket, pay by transfer, then add a product and pay the rest."""

import datetime
import re
from decimal import Decimal

from playwright.sync_api import expect

from orders.models import Order, Unit
from payments.models import Payment, PaymentStatus
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

NBSP = "\u00a0"


def _set_up_market(market):
    market.payment_methods = ["cheque", "cash", "transfer"]
    market.iban = "FR7630006000011234567890189"
    market.bic = "AGRIFRPP882"
    market.account_holder = "Association Marché de Montreuil"
    market.save()
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    hives = ProducerFactory(market=market, name="Rucher des Lilas")
    ProductFactory(producer=farm, name="Carottes", unit=Unit.KG, unit_price=Decimal("2.80"))
    ProductFactory(producer=hives, name="Miel", unit=Unit.PIECE, unit_price=Decimal("6.80"))
    return DistributionFactory(market=market, date=datetime.date(2026, 12, 4), place="La Halle")


def test_a_client_pays_by_transfer_then_pays_the_difference_for_an_addition(
    page, log_in, market, member
):
    _set_up_market(market)
    log_in(member)

    page.locator("#nav").get_by_role("link", name="Commander").click()
    page.get_by_role("link", name=re.compile("Distribution du vendredi 4 décembre 2026")).click()
    page.get_by_label("Quantité de Carottes").fill("2")
    page.get_by_role("button", name="Voir mon panier").click()

    expect(page.get_by_role("heading", name="Récapitulatif de mon panier")).to_be_visible()
    expect(page.locator("#basket-total")).to_have_text(f"5,60{NBSP}€")
    page.get_by_role("link", name="Choisir mon paiement").click()

    expect(page.get_by_role("heading", name="Choisir mon paiement")).to_be_visible()
    assert Order.objects.count() == 0  # nothing is recorded before a method is chosen
    page.get_by_label("Virement").check()
    page.get_by_role("button", name="Valider ma commande").click()

    order = Order.objects.get()
    expect(page.get_by_role("alert")).to_contain_text("Votre commande est enregistrée.")
    instructions = page.locator(".payment-instructions")
    expect(instructions.locator(".iban")).to_have_text("FR76 3000 6000 0112 3456 7890 189")
    expect(instructions.locator(".reference")).to_have_text(f"2026-12-04-{order.number:04d}")
    expect(instructions).to_contain_text("AGRIFRPP882")
    expect(instructions).to_contain_text(f"5,60{NBSP}€")

    page.locator("#nav").get_by_role("link", name="Mes commandes").click()
    row = page.locator("#my-orders tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"5,60{NBSP}€")
    expect(row).to_contain_text("Virement")
    expect(row).to_contain_text(f"5,60{NBSP}€ à recevoir")
    expect(row).to_contain_text(order.reference)

    row.get_by_role("link", name=f"n° {order.number}").click()
    page.get_by_role("link", name="Ajouter des produits").click()
    expect(page.get_by_text("on ne peut plus retirer de produit")).to_be_visible()
    page.get_by_label("Quantité de Miel").fill("1")
    page.get_by_role("button", name="Voir mon panier").click()
    page.get_by_role("link", name="Choisir mon paiement").click()

    expect(page.get_by_text("Complément à payer")).to_be_visible()
    expect(page.locator("#to-pay")).to_have_text(f"6,80{NBSP}€")
    page.get_by_label("Chèque", exact=True).check()
    page.get_by_role("button", name="Valider ma commande").click()

    expect(page.locator("#order-total")).to_have_text(f"12,40{NBSP}€")
    payments = page.locator("#order-payments li")
    expect(payments).to_have_count(2)
    expect(payments.nth(1)).to_contain_text("Chèque")
    expect(payments.nth(1)).to_contain_text(f"6,80{NBSP}€")
    expect(payments.nth(1)).to_contain_text("À recevoir")
    expect(page.locator(".payment-instructions").nth(1)).to_contain_text(
        f"Préparez un chèque de 6,80{NBSP}€"
    )
    assert [(p.method, p.amount, p.status) for p in Payment.objects.order_by("pk")] == [
        ("transfer", Decimal("5.60"), PaymentStatus.PENDING),
        ("cheque", Decimal("6.80"), PaymentStatus.PENDING),
    ]

"""The treasurer's journey: import the bank's statement, confirm the transfers it shows."""

import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from orders.models import Unit
from orders.services import basket_read, order_checkout
from payments.models import Payment, PaymentStatus
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.payments.test_bank_reconcile import entry, statement_file


@pytest.fixture
def expected(market):
    """Four transfers expected: Marie 25,00 €, Zoé 5,00 €, Paul 10,00 €, Léa 7,50 €."""
    market.payment_methods = ["transfer", "cheque"]
    market.iban = "FR7630006000011234567890189"
    market.save()
    carrots = ProductFactory(
        producer=ProducerFactory(market=market), unit=Unit.KG, unit_price=Decimal("2.50")
    )
    distribution = DistributionFactory(market=market)

    def order(first_name, last_name, kilos):
        user = UserFactory(first_name=first_name, last_name=last_name)
        member = MembershipFactory(market=market, user=user, role=Role.CLIENT)
        return order_checkout(
            membership=member,
            distribution=distribution,
            lines=basket_read(market, {str(carrots.pk): kilos}),
            choice="transfer",
            token=uuid.uuid4().hex,
            notify=False,
        ).payments.get()

    marie, zoe = order("Marie", "Dupont", "10"), order("Zoé", "Lefèvre", "2")
    return marie, zoe, order("Paul", "Martin", "4"), order("Léa", "Moreau", "3")


def test_the_treasurer_imports_the_statement_and_confirms_the_transfers(
    page, log_in, market, treasurer, expected
):
    marie, zoe, paul, lea = expected
    swapped = zoe.reference[:-2] + zoe.reference[-1] + zoe.reference[-2]
    data = statement_file(
        entry(1, "25.00", f"MOTIF {marie.reference}"),
        entry(2, "5.00", swapped, payer="LEFEVRE ZOE"),
        entry(3, "42.00", "REMISE DE CHEQUES"),
        entry(4, "10.00", "COURSES DU JEUDI", payer="M PAUL MARTIN"),
        entry(5, "4.50", "FRAIS TENUE DE COMPTE", indicator="DBIT"),
    )
    log_in(treasurer)
    page.goto(f"/m/{market.slug}/virements/")
    page.get_by_role("link", name="Importer un relevé bancaire").click()

    page.get_by_label("Relevé bancaire").set_input_files(
        files=[{"name": "releve.xml", "mimeType": "application/xml", "buffer": data}]
    )
    page.get_by_role("button", name="Importer", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("5 lignes nouvelles sur 5")
    expect(page.locator("#sure-title")).to_have_text("1 sûr")
    expect(page.locator("#unknown")).to_contain_text("REMISE DE CHEQUES")

    page.get_by_role("button", name="Confirmer le virement sûr").click()
    expect(page.get_by_role("alert").first).to_contain_text("1 virement reçu (25,00")

    row = page.locator("#check li", has_text="LEFEVRE ZOE")
    expect(row).to_contain_text("Référence à un caractère près")
    row.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_role("alert").first).to_contain_text("1 virement reçu (5,00")
    expect(page.locator("#matching")).to_contain_text("Aucun virement sûr à confirmer.")

    row = page.locator("#check li", has_text="M PAUL MARTIN")
    expect(row).to_contain_text("Sans référence reconnue : même montant et même nom.")
    row.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_role("alert").first).to_contain_text("1 virement reçu (10,00")
    expect(page.locator("#check")).to_contain_text("Rien à vérifier.")

    fee = page.locator("#unknown li", has_text="FRAIS TENUE DE COMPTE")
    fee.get_by_text("Mettre de côté").first.click()
    fee.get_by_label("Raison").select_option(label="Frais bancaires")
    fee.get_by_role("button", name="Mettre de côté").click()
    expect(page.get_by_role("alert").first).to_contain_text("Opération mise de côté.")
    expect(page.locator("#unknown")).not_to_contain_text("FRAIS TENUE DE COMPTE")
    expect(page.locator("#unknown")).to_contain_text("REMISE DE CHEQUES")

    page.get_by_role("main").get_by_role("link", name="Virements attendus").click()
    expect(page.locator("#upcoming")).to_contain_text(lea.membership.user.display_name)
    expect(page.locator("#upcoming")).not_to_contain_text(marie.membership.user.display_name)
    statuses = dict(Payment.objects.values_list("pk", "status"))
    assert statuses[marie.pk] == statuses[zoe.pk] == statuses[paul.pk] == PaymentStatus.RECEIVED
    assert statuses[lea.pk] == PaymentStatus.PENDING

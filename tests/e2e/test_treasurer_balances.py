"""The treasurer's journey through « Solde des clients » and a client's history."""

import re
from decimal import Decimal

from playwright.sync_api import expect

from accounts.models import Role
from payments.ledger import client_account
from payments.services import opening_balance_record
from tests.factories import MembershipFactory, UserFactory

NBSP = "\u00a0"


def _client(market, first, last, opening, by):
    member = MembershipFactory(
        market=market, user=UserFactory(first_name=first, last_name=last), role=Role.CLIENT
    )
    if opening:
        opening_balance_record(
            membership=member, amount=Decimal(opening), label="Report", recorded_by=by
        )
    return member


def test_treasurer_records_an_opening_balance_for_a_debtor(page, log_in, market, treasurer):
    debtor = _client(market, "Hugo", "Petit", "-20.00", treasurer.user)
    _client(market, "Emma", "Leroy", "15.00", treasurer.user)
    _client(market, "Manon", "Michel", None, treasurer.user)

    log_in(treasurer)
    page.get_by_role("navigation").get_by_role("link", name="Solde des clients").click()
    expect(page.get_by_role("heading", name="Solde des clients")).to_be_visible()
    table = page.locator("table")
    # The list names people last name first: these are the rows the filter must hide.
    not_in_debt = [table.get_by_role("link", name=name) for name in ("Leroy Emma", "Michel Manon")]
    for row in not_in_debt:
        expect(row).to_be_visible()

    page.get_by_role("link", name=re.compile(r"^Débiteurs")).click()
    expect(table.get_by_role("link", name="Petit Hugo")).to_be_visible()
    for row in not_in_debt:
        expect(row).to_have_count(0)

    table.get_by_role("link", name="Petit Hugo").click()
    expect(page.get_by_role("heading", name="Hugo Petit")).to_be_visible()
    expect(page.locator("#client-balance")).to_have_text(f"-20,00{NBSP}€")

    form = page.locator("#opening-form")
    form.get_by_label("Montant").fill("15,50")
    form.get_by_label("Libellé").fill("Reprise de solde (cahier 2025)")
    form.get_by_role("button", name="Enregistrer la reprise de solde").click()

    expect(page.get_by_role("alert")).to_contain_text("Reprise de solde de 15,50")
    expect(page.locator("#client-balance")).to_have_text(f"-4,50{NBSP}€")
    expect(page.locator("#history")).to_contain_text("Reprise de solde (cahier 2025)")
    assert client_account(debtor).held == Decimal("-4.50")

    page.get_by_role("link", name="Solde des clients").first.click()
    row = page.locator("tr", has=page.get_by_role("link", name="Petit Hugo"))
    expect(row).to_contain_text(f"-4,50{NBSP}€")

"""The admin's journey through « Paramètres › Moyens de paiement »."""

import re

from playwright.sync_api import expect

from accounts.models import MarketSettingsChange


def test_admin_offers_transfers_and_fixes_a_mistyped_iban(page, log_in, market, admin):
    log_in(admin)
    page.get_by_role("button", name="Paramètres").click()
    page.get_by_role("link", name="Moyens de paiement").click()
    expect(page.get_by_role("heading", name="Moyens de paiement")).to_be_visible()

    form = page.locator("#payment-settings-form")
    form.get_by_label("Virement", exact=True).check()
    form.get_by_label("IBAN", exact=True).fill("FR76 3000 6000 0112 3456 7890 188")
    form.get_by_label("BIC").fill("AGRIFRPP882")
    form.get_by_label("Titulaire du compte").fill("Association Marché de Montreuil")
    form.get_by_role("button", name="Enregistrer").click()

    expect(form.get_by_label("IBAN", exact=True)).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(form).to_contain_text("La clé de contrôle de cet IBAN ne correspond pas")
    expect(form.get_by_label("Virement", exact=True)).to_be_checked()
    market.refresh_from_db()
    assert not market.offers("transfer") and market.iban == ""

    form.get_by_label("IBAN", exact=True).fill("fr7630006000011234567890189")
    form.get_by_role("button", name="Enregistrer").click()

    expect(page.get_by_role("alert")).to_contain_text("Moyens de paiement enregistrés.")
    expect(form.get_by_label("IBAN", exact=True)).to_have_value("FR76 3000 6000 0112 3456 7890 189")
    expect(form.get_by_label("Virement", exact=True)).to_be_checked()
    log = page.locator("#settings-changes")
    expect(log).to_contain_text("•••• 0189")
    expect(log).to_contain_text(admin.user.display_name)
    market.refresh_from_db()
    assert market.iban == "FR7630006000011234567890189"
    assert market.payment_methods == ["cheque", "cash", "transfer"]
    assert MarketSettingsChange.objects.filter(market=market, field="iban").count() == 1


def test_with_payments_off_the_methods_are_inactive_until_the_switch_is_on(
    page, log_in, market, admin
):
    market.payments_enabled = False
    market.save()
    log_in(admin)
    page.goto(f"/m/{market.slug}/parametres/moyens-de-paiement/")
    form = page.locator("#payment-settings-form")
    note = page.locator("#payments-off-note")

    expect(note).to_be_visible()
    expect(note).to_contain_text("les moyens de paiement ci-dessous sont inactifs")
    expect(form.get_by_label("Espèces", exact=True)).to_be_disabled()
    expect(form.get_by_label("IBAN", exact=True)).to_be_disabled()

    form.get_by_label("Activer la gestion des paiements").check()
    expect(note).to_be_hidden()
    form.get_by_label("Espèces", exact=True).uncheck()
    form.get_by_role("button", name="Enregistrer").click()

    expect(page.get_by_role("alert")).to_contain_text("Moyens de paiement enregistrés.")
    expect(form.get_by_label("Espèces", exact=True)).to_be_enabled()
    market.refresh_from_db()
    assert market.payments_enabled and market.payment_methods == ["cheque"]

"""« Paramètres › Moyens de paiement »: the methods a market offers, its bank details, the log."""

import html
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Market, MarketSettingsChange, Role
from orders.services import asks_for_payment, checkout_choices
from payments.market_settings import payment_settings_update
from payments.models import Payment, PaymentStatus
from tests.factories import MembershipFactory
from tests.threads import run_together

pytestmark = pytest.mark.django_db

IBAN = "FR7630006000011234567890189"
IBAN_GROUPED = "FR76 3000 6000 0112 3456 7890 189"
BIC = "AGRIFRPP882"
HOLDER = "Association Marché de Montreuil"


STRIPE_CONFIGURED = {
    "STRIPE_SECRET_KEY": "sk_test_configured",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_configured",
    "STRIPE_WEBHOOK_SECRET": "whsec_configured",
}


@pytest.fixture(autouse=True)
def no_stripe_keys(settings):
    for name in STRIPE_CONFIGURED:
        setattr(settings, name, "")
    return settings


@pytest.fixture
def stripe_keys(settings):
    for name, value in STRIPE_CONFIGURED.items():
        setattr(settings, name, value)
    return settings


def url(market) -> str:
    return reverse("payment_settings", kwargs={"market_slug": market.slug})


def form_data(market, **changes) -> dict:
    """What the browser sends for the market's current settings, with ``changes``."""
    values = {
        "payments_enabled": market.payments_enabled,
        "payment_methods": list(market.payment_methods),
        "iban": market.iban_display,
        "bic": market.bic,
        "account_holder": market.account_holder,
        "cheque_payee": market.cheque_payee,
        "cagnotte_mode": market.cagnotte_mode,
        "allow_negative_balances": market.allow_negative_balances,
        "transfer_reminders_auto": market.transfer_reminders_auto,
        "transfer_reminders_days_before": market.transfer_reminders_days_before,
        "transfer_reminders_hour": market.transfer_reminders_hour,
        **changes,
    }
    # An unticked box is not sent at all.
    return {name: ("on" if v is True else v) for name, v in values.items() if v is not False}


def save(client, market, follow=False, **changes):
    return client.post(url(market), form_data(market, **changes), follow=follow)


def with_transfers(**changes) -> dict:
    return {
        "payment_methods": ["cheque", "transfer"],
        "iban": IBAN,
        "bic": BIC,
        "account_holder": HOLDER,
        **changes,
    }


def errors_of(response, field) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get(field, [])]


def pending(membership, method, amount="12.00", status=PaymentStatus.PENDING, market=None):
    return Payment.objects.create(
        market=market or membership.market,
        membership=membership,
        method=method,
        amount=Decimal(amount),
        status=status,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# -- Who may enter -----------------------------------------------------------------


def test_it_requires_login(client, market):
    response = client.get(url(market))
    assert response.status_code == 302
    assert "/connexion/" in response.url


def test_a_client_is_refused(login, member):
    assert login(member).get(url(member.market)).status_code == 403


def test_a_treasurer_is_refused(login, treasurer):
    response = login(treasurer).post(url(treasurer.market), form_data(treasurer.market))
    assert response.status_code == 403
    assert not MarketSettingsChange.objects.exists()


def test_an_admin_of_another_market_gets_a_404(login, other_admin, market):
    assert login(other_admin).get(url(market)).status_code == 404


def test_the_admin_reaches_the_page_from_the_gestion_menu(login, admin):
    response = login(admin).get(reverse("market_home", args=[admin.market.slug]))
    assert f'href="{url(admin.market)}"' in response.content.decode()


def test_a_treasurer_sees_no_link_to_the_page(login, treasurer):
    response = login(treasurer).get(reverse("market_home", args=[treasurer.market.slug]))
    assert url(treasurer.market) not in response.content.decode()


# -- The page -----------------------------------------------------------------------


def test_the_page_shows_the_saved_iban_grouped_by_4(login, admin, market):
    market.iban, market.bic = IBAN, BIC
    market.save()
    page = login(admin).get(url(market)).content.decode()
    assert f'value="{IBAN_GROUPED}"' in page


def test_the_page_explains_the_cagnotte_option_and_negative_balances(login, admin, market):
    page = html.unescape(login(admin).get(url(market)).content.decode())
    assert "Option Cagnotte" in page
    assert "collecter les paiements de plusieurs ventes en une fois" in page
    assert "La validation d'un panier ne crée alors aucun paiement" in page
    assert "le client est prévenu que le marché fonctionne avec une cagnotte" in page
    assert "le client doit d'abord créditer son compte" in page


def test_saving_redirects_back_to_the_page(login, admin, market):
    response = save(login(admin), market, cheque_payee="Marché de Montreuil")
    assert response.status_code == 302
    assert response.url == url(market)


# -- Each setting -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["payments_enabled", "cagnotte_mode", "allow_negative_balances"])
def test_each_switch_is_saved_both_ways(login, admin, market, name):
    client = login(admin)
    was = getattr(market, name)
    save(client, market, **{name: not was})
    market.refresh_from_db()
    assert getattr(market, name) is (not was)
    save(client, market, **{name: was})
    market.refresh_from_db()
    assert getattr(market, name) is was


def test_ticked_methods_are_saved_in_display_order(login, admin, market):
    save(login(admin), market, payment_methods=["cagnotte", "card_terminal", "cash"])
    market.refresh_from_db()
    assert market.payment_methods == ["cash", "card_terminal", "cagnotte"]


def test_an_unknown_method_is_refused(login, admin, market):
    response = save(login(admin), market, payment_methods=["cheque", "bitcoin"])
    assert response.status_code == 400
    assert errors_of(response, "payment_methods")
    market.refresh_from_db()
    assert market.payment_methods == ["cheque", "cash"]


def test_the_cheque_payee_is_saved(login, admin, market):
    save(login(admin), market, cheque_payee="  AMAP de Montreuil ")
    market.refresh_from_db()
    assert market.cheque_payee == "AMAP de Montreuil"
    assert market.payee == "AMAP de Montreuil"


def test_the_bank_details_are_saved_with_transfers(login, admin, market):
    save(login(admin), market, **with_transfers())
    market.refresh_from_db()
    assert market.offers("transfer")
    assert (market.iban, market.bic, market.account_holder) == (IBAN, BIC, HOLDER)


def test_payments_on_without_any_method_are_refused(login, admin, market):
    response = save(login(admin), market, payments_enabled=True, payment_methods=[])
    assert response.status_code == 400
    assert "Cochez au moins un moyen de paiement" in errors_of(response, "payment_methods")[0]


def test_the_cagnotte_option_needs_no_method(login, admin, market):
    save(login(admin), market, cagnotte_mode=True, payment_methods=[])
    market.refresh_from_db()
    assert market.cagnotte_mode and market.payment_methods == []


# -- IBAN and BIC -------------------------------------------------------------------


def test_the_iban_is_stored_without_spaces_in_upper_case(login, admin, market):
    save(login(admin), market, **with_transfers(iban=" fr76 3000 6000 0112 3456 7890 189 "))
    market.refresh_from_db()
    assert market.iban == IBAN
    assert market.iban_display == IBAN_GROUPED


def test_an_iban_of_another_country_is_accepted(login, admin, market):
    save(login(admin), market, **with_transfers(iban="DE89 3704 0044 0532 0130 00", bic="COBADEFF"))
    market.refresh_from_db()
    assert market.iban == "DE89370400440532013000"


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("FR7630006000011234567890188", "La clé de contrôle de cet IBAN ne correspond pas"),
        ("FR76300060000112345678901", "n'a pas la longueur d'un IBAN FR"),
        ("FR76 3000 6000 0112 3456 7890 1890", "n'a pas la longueur d'un IBAN FR"),
        ("FR76 ABCD 6000 0112 3456 7890 189", "ne suit pas le format des comptes FR"),
        ("FR76-3000-6000-0112-3456-7890-189", "ne contient que des lettres et des chiffres"),
        ("XX7630006000011234567890189", "« XX » n'est pas un code pays"),
        ("abc", "« AB » n'est pas un code pays : un IBAN commence par le code du pays"),
        ("12 3456", "« 12 » n'est pas un code pays : un IBAN commence par le code du pays"),
        ("fr76", "n'a pas la longueur d'un IBAN FR (27 caractères, et non 4)"),
    ],
    ids=[
        "bad checksum",
        "too short",
        "too long",
        "letters",
        "punctuation",
        "unknown country",
        "letters that are no country",
        "digits first",
        "only the start of an iban",
    ],
)
def test_a_wrong_iban_is_refused_with_a_french_sentence(login, admin, market, typed, error):
    response = save(login(admin), market, **with_transfers(iban=typed))
    assert response.status_code == 400
    assert error in errors_of(response, "iban")[0]
    market.refresh_from_db()
    assert market.iban == "" and not market.offers("transfer")


def test_a_wrong_iban_is_refused_even_without_transfers(login, admin, market):
    response = save(login(admin), market, iban="FR7630006000011234567890188")
    assert response.status_code == 400
    assert errors_of(response, "iban")


def test_the_bic_is_stored_in_upper_case(login, admin, market):
    save(login(admin), market, **with_transfers(bic="agri frpp 882"))
    market.refresh_from_db()
    assert market.bic == "AGRIFRPP882"


@pytest.mark.parametrize("typed", ["AGRIFRP", "12345678", "AGRIXXPP"])
def test_a_wrong_bic_is_refused(login, admin, market, typed):
    response = save(login(admin), market, bic=typed)
    assert response.status_code == 400
    assert "Ce BIC n'est pas valable" in errors_of(response, "bic")[0]


@pytest.mark.parametrize(
    ("missing", "error"),
    [
        ("iban", "Indiquez l'IBAN du marché"),
        ("bic", "Indiquez le BIC de la banque"),
        ("account_holder", "Indiquez le titulaire du compte"),
    ],
)
def test_transfers_need_iban_bic_and_account_holder(login, admin, market, missing, error):
    response = save(login(admin), market, **with_transfers(**{missing: ""}))
    assert response.status_code == 400
    assert error in errors_of(response, missing)[0]


def test_an_invalid_form_writes_nothing(login, admin, market):
    response = save(login(admin), market, **with_transfers(iban="", cheque_payee="Autre ordre"))
    assert response.status_code == 400
    market.refresh_from_db()
    assert market.cheque_payee == "" and market.bic == "" and not market.offers("transfer")
    assert not MarketSettingsChange.objects.exists()


def test_bank_details_may_stay_when_transfers_are_unticked(login, admin, market):
    client = login(admin)
    save(client, market, **with_transfers())
    market.refresh_from_db()
    save(client, market, payment_methods=["cheque"])
    market.refresh_from_db()
    assert market.payment_methods == ["cheque"] and market.iban == IBAN


# -- Online card --------------------------------------------------------------------


def test_online_card_is_disabled_with_the_reason_without_stripe_keys(login, admin, market):
    page = html.unescape(login(admin).get(url(market)).content.decode())
    box = page[page.index('value="online_card"') :].split(">", 1)[0]
    assert "disabled" in box
    assert "la plateforme n'a pas encore terminé sa configuration Stripe" in page
    assert "(clés et secret du webhook)" in page


def test_a_forged_post_ticking_online_card_without_keys_is_refused(login, admin, market):
    response = save(login(admin), market, payment_methods=["cheque", "online_card"])
    assert response.status_code == 400
    assert (
        "La carte bancaire en ligne n'est pas disponible"
        in errors_of(response, "payment_methods")[0]
    )
    market.refresh_from_db()
    assert not market.offers("online_card")


@pytest.mark.parametrize("missing", list(STRIPE_CONFIGURED))
def test_online_card_needs_both_stripe_keys_and_the_webhook_secret(
    login, admin, market, stripe_keys, missing
):
    # Without the webhook secret every webhook is refused: payments would settle late.
    setattr(stripe_keys, missing, "")
    client = login(admin)
    box = client.get(url(market)).content.decode().split('value="online_card"', 1)[1]
    assert "disabled" in box.split(">", 1)[0]
    response = save(client, market, payment_methods=["cheque", "online_card"])
    assert response.status_code == 400
    market.refresh_from_db()
    assert not market.offers("online_card")


def test_online_card_can_be_ticked_once_the_stripe_keys_are_set(login, admin, market, stripe_keys):
    client = login(admin)
    box = client.get(url(market)).content.decode().split('value="online_card"', 1)[1]
    assert "disabled" not in box.split(">", 1)[0]
    save(client, market, payment_methods=["cheque", "online_card"])
    market.refresh_from_db()
    assert market.payment_methods == ["cheque", "online_card"]


def test_online_card_already_offered_stays_while_the_keys_are_missing(login, admin, market):
    # The disabled box is not sent by the browser: saving must not drop it.
    market.payment_methods = ["cheque", "online_card"]
    market.save()
    response = save(login(admin), market, payment_methods=["cheque"], cheque_payee="AMAP")
    assert response.status_code == 302
    market.refresh_from_db()
    assert market.payment_methods == ["cheque", "online_card"]
    assert market.cheque_payee == "AMAP"


def test_online_card_already_offered_shows_ticked_and_disabled_without_keys(login, admin, market):
    market.payment_methods = ["cheque", "online_card"]
    market.save()
    client = login(admin)
    for response in (client.get(url(market)), save(client, market, payment_methods=["transfer"])):
        box = response.content.decode().split('value="online_card"', 1)[1].split(">", 1)[0]
        assert "disabled" in box and "checked" in box
        assert "n'est pas proposée aux clients en attendant" in html.unescape(
            response.content.decode()
        )


def test_online_card_not_offered_shows_unticked_after_an_invalid_post(login, admin, market):
    response = save(login(admin), market, payment_methods=["transfer"])
    assert response.status_code == 400
    box = response.content.decode().split('value="online_card"', 1)[1].split(">", 1)[0]
    assert "disabled" in box and "checked" not in box


# -- The change log -----------------------------------------------------------------


def test_each_change_is_recorded_with_who_when_and_the_old_and_new_values(login, admin, market):
    before = timezone.now()
    save(login(admin), market, payment_methods=["cheque"], allow_negative_balances=False)
    changes = {c.field: c for c in MarketSettingsChange.objects.filter(market=market)}
    assert set(changes) == {"payment_methods", "allow_negative_balances"}
    methods = changes["payment_methods"]
    assert (methods.old_value, methods.new_value) == ("cheque,cash", "cheque")
    assert methods.changed_by == admin.user and methods.changed_at >= before
    negative = changes["allow_negative_balances"]
    assert (negative.old_value, negative.new_value) == ("true", "false")


def test_saving_the_same_values_twice_records_one_change(login, admin, market):
    client = login(admin)
    data = form_data(market, cheque_payee="AMAP de Montreuil")
    client.post(url(market), data, follow=True)
    response = client.post(url(market), data, follow=True)
    assert MarketSettingsChange.objects.count() == 1
    assert "Aucune modification" in messages_of(response)[0]


def test_the_log_is_shown_newest_first_in_words(login, admin, market):
    client = login(admin)
    save(client, market, cheque_payee="AMAP")
    market.refresh_from_db()
    save(client, market, payment_methods=["transfer"], iban=IBAN, bic=BIC, account_holder=HOLDER)
    page = html.unescape(client.get(url(market)).content.decode())
    log = page[page.index('id="settings-changes"') :]
    assert log.index("Moyens de paiement proposés") < log.index("Ordre des chèques")
    assert "Chèque, Espèces" in log and "Virement" in log
    assert admin.user.display_name in log


def test_the_log_shows_the_iban_masked_except_its_last_4_characters(login, admin, market):
    client = login(admin)
    save(client, market, **with_transfers())
    page = client.get(url(market)).content.decode()
    log = page[page.index('id="settings-changes"') :]
    assert "•••• 0189" in log
    assert IBAN not in log and IBAN_GROUPED not in log


def test_the_log_shows_50_changes_per_page(login, admin, market):
    for n in range(55):
        MarketSettingsChange.objects.create(
            market=market, changed_by=admin.user, field="cheque_payee", new_value=f"Ordre {n}"
        )
    page = login(admin).get(url(market)).content.decode()
    assert len(re.findall(r"<td>Ordre \d+</td>", page)) == 50
    assert "Ordre 54" in page and "Ordre 4<" not in page
    assert "page=2" in page


def test_the_log_of_another_market_is_not_shown(login, admin, market, other_admin):
    MarketSettingsChange.objects.create(
        market=other_admin.market,
        changed_by=other_admin.user,
        field="cheque_payee",
        new_value="Ordre des Lilas",
    )
    assert "Ordre des Lilas" not in login(admin).get(url(market)).content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_click_arriving_at_once_records_one_change(market, admin):
    def save_in_thread(i):
        # Each request loaded the market before either save.
        stale = Market.objects.get(pk=market.pk)
        values = {"cheque_payee": "AMAP de Montreuil", "payment_methods": ["cheque"]}
        return payment_settings_update(market=stale, changed_by=admin.user, values=values)

    results, errors = run_together(save_in_thread, threads=2)

    assert errors == []
    assert sorted(len(saved.changed) for saved in results) == [0, 2]
    assert MarketSettingsChange.objects.filter(market=market).count() == 2


# -- Unticking a method with payments still expected --------------------------------


def test_unticking_a_method_keeps_its_pending_payments_and_says_how_many(login, admin, market):
    members = [MembershipFactory(market=market, role=Role.CLIENT) for _ in range(3)]
    expected = [pending(m, "cheque") for m in members]
    response = save(login(admin), market, payment_methods=["cash"], follow=True)
    assert "3 paiements par chèque restent attendus : ils sont conservés." in messages_of(response)
    statuses = Payment.objects.filter(pk__in=[p.pk for p in expected]).values_list("status")
    assert set(statuses) == {(PaymentStatus.PENDING,)}


def test_a_single_pending_payment_is_told_in_the_singular(login, admin, market, member):
    pending(member, "cash")
    response = save(login(admin), market, payment_methods=["cheque"], follow=True)
    assert "1 paiement en espèces reste attendu : il est conservé." in messages_of(response)


def test_cancelled_payments_and_other_markets_are_not_counted(login, admin, market, other_admin):
    member = MembershipFactory(market=market, role=Role.CLIENT)
    pending(member, "cheque", status=PaymentStatus.CANCELLED)
    pending(other_admin, "cheque")
    response = save(login(admin), market, payment_methods=["cash"], follow=True)
    assert not [m for m in messages_of(response) if "attendu" in m]


def test_unticking_every_on_site_method_warns_about_on_site_payments(login, admin, market, member):
    pending(member, "on_site")
    response = save(
        login(admin), market, follow=True, **with_transfers(payment_methods=["transfer"])
    )
    assert "1 paiement « sur place » reste attendu : il est conservé." in messages_of(response)


def test_switching_payments_off_keeps_pending_payments_and_says_how_many(
    login, admin, market, member
):
    market.payment_methods = ["cheque", "cash", "online_card"]
    market.save()
    expected = [pending(member, method) for method in ("cheque", "cheque", "online_card")]
    pending(member, "cash", status=PaymentStatus.CANCELLED)

    response = save(login(admin), market, payments_enabled=False, follow=True)

    assert messages_of(response)[1:] == [
        "2 paiements par chèque restent attendus : ils sont conservés.",
        "1 paiement par carte bancaire en ligne reste attendu : il est conservé.",
    ]
    statuses = Payment.objects.filter(pk__in=[p.pk for p in expected]).values_list("status")
    assert set(statuses) == {(PaymentStatus.PENDING,)}


def test_switching_payments_off_keeps_the_methods_and_warns_once_per_method(
    login, admin, market, member
):
    pending(member, "cash")
    response = save(
        login(admin), market, payments_enabled=False, payment_methods=["cheque"], follow=True
    )
    warnings = [m for m in messages_of(response) if "attendu" in m]
    assert warnings == ["1 paiement en espèces reste attendu : il est conservé."]
    market.refresh_from_db()
    assert market.payment_methods == ["cheque", "cash"]  # inactive while payments are off


# -- What the rest of the app reads -------------------------------------------------


def test_an_unticked_method_is_no_longer_offered_at_checkout(login, admin, market):
    market.payment_methods = ["cheque", "cash", "cagnotte"]
    market.save()
    assert "cash" in checkout_choices(market)
    save(login(admin), market, payment_methods=["cheque", "cagnotte"])
    market.refresh_from_db()
    assert checkout_choices(market) == ["cheque", "cagnotte"]


def test_the_cagnotte_option_stops_asking_for_a_method(login, admin, market):
    save(login(admin), market, cagnotte_mode=True)
    market.refresh_from_db()
    assert not asks_for_payment(market)
    assert checkout_choices(market) == []


# -- The service --------------------------------------------------------------------


def test_the_service_changes_nothing_for_the_same_values(admin, market):
    values = {"payment_methods": ["cash", "cheque"], "cheque_payee": "", "iban": ""}
    saved = payment_settings_update(market=market, changed_by=admin.user, values=values)
    assert saved.changed == [] and not MarketSettingsChange.objects.exists()


def test_the_service_updates_the_market_it_was_given(admin, market):
    payment_settings_update(market=market, changed_by=admin.user, values={"cagnotte_mode": True})
    assert market.cagnotte_mode is True
    assert Market.objects.get(pk=market.pk).cagnotte_mode is True

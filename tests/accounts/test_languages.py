"""The person's language: stored when they switch, back at login, used for their emails."""

import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from accounts.models import Role, User
from orders.models import Unit
from orders.services import basket_read, order_checkout
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.jobs import run_jobs

COOKIE = settings.LANGUAGE_COOKIE_NAME


@pytest.fixture(autouse=True)
def _back_to_the_default_language():
    yield
    translation.deactivate()


@pytest.fixture
def camille(market):
    user = UserFactory(first_name="Camille", email="camille@exemple.fr")
    return MembershipFactory(market=market, user=user, role=Role.CLIENT)


def _choose(client, language):
    return client.post(reverse("set_language"), {"language": language, "next": "/"})


def _language(membership) -> str:
    return User.objects.get(pk=membership.user_id).language


def _log_in(client, membership):
    data = {"username": membership.user.email, "password": PASSWORD}
    return client.post(reverse("login"), data)


def test_switching_language_is_stored_on_the_person(login, camille):
    response = _choose(login(camille), "en")

    assert response.status_code == 302
    assert _language(camille) == "en"


def test_switching_back_to_french_is_stored_too(login, camille):
    browser = login(camille)
    _choose(browser, "en")
    _choose(browser, "fr")

    assert _language(camille) == "fr"


def test_an_unknown_language_is_not_stored(login, camille):
    _choose(login(camille), "xx")

    assert _language(camille) == ""


def test_switching_before_logging_in_stores_nothing_until_login(client, camille):
    _choose(client, "en")
    assert _language(camille) == ""

    _log_in(client, camille)

    assert _language(camille) == "en"


def test_logging_in_brings_back_the_stored_language(client, camille):
    User.objects.filter(pk=camille.user_id).update(language="en")

    response = _log_in(client, camille)

    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "en"
    page = client.get(reverse("market_home", args=[camille.market.slug]))
    assert page.headers["Content-Language"] == "en"


def test_the_stored_language_wins_over_the_devices_at_login(client, camille):
    User.objects.filter(pk=camille.user_id).update(language="fr")
    client.cookies[COOKIE] = "en"

    response = _log_in(client, camille)

    assert response.cookies[COOKIE].value == "fr"


# Emails, in the recipient's language


@pytest.fixture
def carrots(market):
    market.payment_methods = ["cheque", "transfer"]
    market.iban = "FR7630006000011234567890189"
    market.account_holder = "Association Marché de Montreuil"
    market.save()
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    return ProductFactory(producer=farm, name="Carottes", unit=Unit.KG, unit_price=Decimal("2.80"))


def _checkout(membership, product, capture, choice="cheque"):
    lines = basket_read(membership.market, {str(product.pk): "2"})
    with capture(execute=True):
        order = order_checkout(
            membership=membership,
            distribution=DistributionFactory(market=membership.market),
            lines=lines,
            choice=choice,
            token=uuid.uuid4().hex,
        )
    run_jobs()
    return order


def test_a_client_who_switched_to_english_gets_an_english_recap_from_a_french_request(
    camille, carrots, mailoutbox, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=camille.user_id).update(language="en")
    camille.user.refresh_from_db()

    with translation.override("fr"):
        order = _checkout(camille, carrots, django_capture_on_commit_callbacks)

    (message,) = mailoutbox
    assert message.subject == f"Marché de Montreuil — your order (basket no. {order.number})"
    assert message.body.startswith("Hello Camille,")
    assert "Hello Camille," in message.alternatives[0][0]


def test_a_french_client_gets_a_french_recap_from_an_english_request(
    camille, carrots, mailoutbox, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=camille.user_id).update(language="fr")
    camille.user.refresh_from_db()

    with translation.override("en"):
        order = _checkout(camille, carrots, django_capture_on_commit_callbacks)

    (message,) = mailoutbox
    assert message.subject == f"Marché de Montreuil — votre commande (panier n° {order.number})"
    assert message.body.startswith("Bonjour Camille,")


def test_an_english_client_gets_an_english_transfer_reminder_from_a_french_treasurer(
    login, treasurer, camille, carrots, mailoutbox, django_capture_on_commit_callbacks
):
    order = _checkout(camille, carrots, django_capture_on_commit_callbacks, choice="transfer")
    User.objects.filter(pk=camille.user_id).update(language="en")
    mailoutbox.clear()
    payment = order.payments.get()
    data = {"payments": [str(payment.pk)], "form_token": "d" * 32}

    with django_capture_on_commit_callbacks(execute=True):
        login(treasurer).post(reverse("transfers_remind", args=[camille.market.slug]), data)
    run_jobs()

    (message,) = mailoutbox
    assert message.subject.endswith(f"reminder: your bank transfer (reference {payment.reference})")
    assert message.body.startswith("Hello Camille,")


def test_an_english_client_gets_an_english_complement_email(
    camille, carrots, mailoutbox, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=camille.user_id).update(language="en")
    distribution = DistributionFactory(market=camille.market)
    for kilos in ("2", "3"):
        with django_capture_on_commit_callbacks(execute=True):
            order = order_checkout(
                membership=camille,
                distribution=distribution,
                lines=basket_read(camille.market, {str(carrots.pk): kilos}),
                choice="cheque",
                token=uuid.uuid4().hex,
            )
        run_jobs()

    complement = mailoutbox[1]
    assert complement.subject.startswith(
        f"Marché de Montreuil — products added to your order (basket no. {order.number})"
    )
    assert complement.body.startswith("Hello Camille,")


@pytest.mark.parametrize(
    ("language", "total", "holder"),
    [
        ("en", "Total: 5,60\u00a0€", "Account holder: Association"),
        ("fr", "Total\u00a0: 5,60\u00a0€", "Titulaire du compte\u00a0: Association"),
    ],
)
def test_a_recap_writes_its_labels_colons_and_html_language_as_its_reader_s_language(
    camille, carrots, mailoutbox, django_capture_on_commit_callbacks, language, total, holder
):
    User.objects.filter(pk=camille.user_id).update(language=language)
    camille.user.refresh_from_db()

    _checkout(camille, carrots, django_capture_on_commit_callbacks, choice="transfer")

    (message,) = mailoutbox
    html = message.alternatives[0][0]
    assert total in message.body
    assert holder in message.body
    assert f'<html lang="{language}">' in html
    if language == "en":
        assert " :" not in message.body and "\u00a0:" not in message.body

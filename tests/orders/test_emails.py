"""The order recap email: sent after commit, in French, text and HTML alike."""

import datetime
import smtplib
import uuid
from decimal import Decimal

import pytest
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import translation

from accounts.models import EmailStatus, OutgoingEmail
from accounts.outbox import emails_not_sent
from orders.models import Order, Unit
from orders.services import basket_read, order_checkout
from payments.models import Payment, Transaction
from payments.services import opening_balance_record, payment_receive
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.jobs import make_due, queued, run_jobs

NBSP = "\u00a0"
IBAN_GROUPED = "FR76 3000 6000 0112 3456 7890 189"


@pytest.fixture
def market(db, market):
    # ``db`` named here too: pytest does not count the fixtures an overridden
    # fixture uses, and without it the test database would not be set up.
    market.payment_methods = ["cheque", "cash", "transfer", "cagnotte"]
    market.iban = "fr76 3000 6000 0112 3456 7890 189"
    market.bic = "AGRIFRPP882"
    market.account_holder = "Association Marché de Montreuil"
    market.cheque_payee = "Les Amis du Marché"
    market.save()
    return market


@pytest.fixture
def member(member):
    member.user.first_name = "Camille"
    member.user.email = "camille@exemple.fr"
    member.user.save()
    return member


@pytest.fixture
def carrots(market):
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    return ProductFactory(producer=farm, name="Carottes", unit=Unit.KG, unit_price=Decimal("2.80"))


@pytest.fixture
def honey(market):
    hives = ProducerFactory(market=market, name="Rucher des Lilas")
    return ProductFactory(producer=hives, name="Miel", unit=Unit.PIECE, unit_price=Decimal("6.80"))


@pytest.fixture
def distribution(market):
    return DistributionFactory(market=market, date=datetime.date(2026, 12, 4), place="La Halle")


@pytest.fixture
def order_now(member, distribution):
    """``order_now({product: qty}, choice)``: check out, then run the jobs it queued."""

    def _order(quantities, choice, token=None):
        lines = basket_read(member.market, {str(p.pk): q for p, q in quantities.items()})
        order = order_checkout(
            membership=member,
            distribution=distribution,
            lines=lines,
            choice=choice,
            token=token or uuid.uuid4().hex,
        )
        run_jobs()
        return order

    return _order


def bodies(message) -> tuple[str, str]:
    (html, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    return message.body, html


def test_the_recap_is_queued_with_the_order_and_sent_by_its_job(
    member, distribution, carrots, mailoutbox
):
    lines = basket_read(member.market, {str(carrots.pk): "2"})
    order = order_checkout(
        membership=member,
        distribution=distribution,
        lines=lines,
        choice="cheque",
        token=uuid.uuid4().hex,
    )
    assert mailoutbox == []
    (email,) = OutgoingEmail.objects.all()
    assert (email.about, email.status, email.to) == (
        f"order:{order.pk}",
        EmailStatus.PENDING,
        member.user.email,
    )
    assert queued("email_send") == [
        {"task": "email_send", "args": {"email_id": email.pk}, "lock": None}
    ]

    run_jobs()
    run_jobs()  # a second worker round finds nothing more to do

    assert len(mailoutbox) == 1
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.attempts == 1


def test_an_order_rolled_back_queues_no_email(member, distribution, carrots, mailoutbox):
    lines = basket_read(member.market, {str(carrots.pk): "2"})
    with pytest.raises(RuntimeError), transaction.atomic():
        order_checkout(
            membership=member,
            distribution=distribution,
            lines=lines,
            choice="cheque",
            token=uuid.uuid4().hex,
        )
        raise RuntimeError("the request fails after the order")

    assert not OutgoingEmail.objects.exists()
    assert queued() == []


def test_the_recap_goes_to_the_client_in_french_with_text_and_html(
    member, carrots, honey, order_now, mailoutbox
):
    with translation.override("en"):  # the client reads the site in English
        order = order_now({carrots: "2", honey: "1"}, "cheque")

    (message,) = mailoutbox
    assert message.to == ["camille@exemple.fr"]
    assert message.subject == f"Marché de Montreuil — votre commande (panier n° {order.number})"
    text, html = bodies(message)
    assert text.startswith("Bonjour Camille,")
    assert f"Marché de Montreuil{NBSP}: votre commande est enregistrée" in text
    assert "vendredi 4 décembre 2026 (La Halle)" in text
    assert f"- Carottes (Ferme du Bois) : 2 × 2,80{NBSP}€ = 5,60{NBSP}€" in text
    assert f"Total : 12,40{NBSP}€" in text
    assert "Bonjour Camille," in html
    assert '<html lang="fr">' in html
    assert "Miel" in html


def test_a_transfer_recap_gives_the_iban_by_groups_of_four_and_the_reference(
    carrots, honey, order_now, mailoutbox
):
    order = order_now({carrots: "2", honey: "1"}, "transfer")

    text, html = bodies(mailoutbox[0])
    assert order.reference == f"2026-12-04-{order.number:04d}"
    for body in (text, html):
        assert IBAN_GROUPED in body
        assert "AGRIFRPP882" in body
        assert "Association Marché de Montreuil" in body
        assert order.reference in body
        assert f"12,40{NBSP}€" in body
    assert f"Référence à indiquer : {order.reference}" in text


def test_a_cheque_recap_gives_the_payee_and_the_reference_for_the_back(
    carrots, order_now, mailoutbox
):
    order = order_now({carrots: "2"}, "cheque")

    text, html = bodies(mailoutbox[0])
    assert (
        f"Préparez un chèque de 5,60{NBSP}€, avec au dos la référence {order.reference}, "
        "et remettez-le à la distribution."
    ) in text
    assert f"Ordre du chèque{NBSP}: Les Amis du Marché" in text
    assert "Les Amis du Marché" in html
    assert order.reference in html
    assert IBAN_GROUPED not in text


def test_an_on_site_recap_says_to_pay_at_pickup(carrots, order_now, mailoutbox):
    order_now({carrots: "2"}, "on_site")

    text, html = bodies(mailoutbox[0])
    assert "Sur place (à préciser)" in text
    assert f"Vous réglerez 5,60{NBSP}€ sur place, en récupérant votre panier." in text
    assert "sur place, en récupérant votre panier" in html


def test_a_cagnotte_recap_gives_the_balance_left(member, carrots, order_now, mailoutbox):
    opening_balance_record(
        membership=member, amount=Decimal("20.00"), label="Reprise", recorded_by=None
    )

    order_now({carrots: "2"}, "cagnotte")

    text, html = bodies(mailoutbox[0])
    assert f"Payé avec votre cagnotte : 5,60{NBSP}€ ont été déduits de votre solde." in text
    assert f"Votre solde après cette commande : 14,40{NBSP}€." in text
    assert "14,40" in html


def test_in_cagnotte_mode_the_recap_explains_the_cagnotte(market, carrots, order_now, mailoutbox):
    market.cagnotte_mode = True
    market.save()

    order_now({carrots: "2"}, "")

    text, html = bodies(mailoutbox[0])
    for body in (text, html):
        assert "Ce marché fonctionne avec une cagnotte" in body
        assert "administrateur du marché se rapprochera de vous" in body
    assert f"Votre solde après cette commande : -5,60{NBSP}€." in text


def test_an_addition_sends_a_recap_for_the_difference(carrots, honey, order_now, mailoutbox):
    order_now({carrots: "2"}, "cheque")

    order = order_now({carrots: "2", honey: "1"}, "transfer")

    assert len(mailoutbox) == 2
    text, _html = bodies(mailoutbox[1])
    assert f"Nouveau total de la commande : 12,40{NBSP}€" in text
    assert f"Montant : 6,80{NBSP}€" in text
    assert order.reference in text


def test_a_complement_recap_gives_the_complement_s_own_reference(
    carrots, honey, order_now, mailoutbox
):
    order = order_now({carrots: "2"}, "transfer")

    order_now({carrots: "2", honey: "1"}, "transfer")

    text, html = bodies(mailoutbox[1])
    assert f"Référence à indiquer : {order.reference}-2" in text
    assert f"{order.reference}-2" in html


def test_without_payment_management_a_reduction_sends_the_updated_recap(
    market, carrots, honey, order_now, mailoutbox
):
    market.payments_enabled = False
    market.save()
    order_now({carrots: "2", honey: "1"}, "")

    order_now({carrots: "1"}, "")

    assert len(mailoutbox) == 2
    text, _html = bodies(mailoutbox[1])
    assert f"Total : 2,80{NBSP}€" in text
    assert "Miel" not in text


def test_no_email_is_sent_when_nothing_changed(carrots, order_now, mailoutbox):
    token = uuid.uuid4().hex
    order_now({carrots: "2"}, "cheque", token=token)

    order_now({carrots: "2"}, "cheque", token=token)  # the same form, sent again
    order_now({carrots: "2"}, "cheque")  # the same basket, checked out again

    assert len(mailoutbox) == 1


def test_a_mail_server_away_keeps_the_order_and_the_email_for_later(
    member, carrots, order_now, mailoutbox, monkeypatch
):
    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP server unreachable")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    order = order_now({carrots: "2"}, "transfer")

    assert Order.objects.get() == order
    assert Transaction.objects.count() == 1
    assert Payment.objects.count() == 1
    assert mailoutbox == []
    email = OutgoingEmail.objects.get()
    assert email.status == EmailStatus.PENDING and email.attempts == 1
    assert "ConnectionRefusedError" in email.last_error
    (job,) = queued("email_send")  # waiting for its next try

    monkeypatch.undo()
    make_due()
    run_jobs()
    assert len(mailoutbox) == 1
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.attempts == 2


def test_an_address_the_server_refuses_stops_at_once_and_is_shown(
    carrots, order_now, mailoutbox, monkeypatch
):
    def refuse(self, fail_silently=False):
        raise smtplib.SMTPRecipientsRefused({self.to[0]: (550, b"No such user")})

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    order = order_now({carrots: "2"}, "cheque")

    email = OutgoingEmail.objects.get()
    assert email.status == EmailStatus.FAILED and "550" in email.last_error
    assert queued() == []
    assert list(emails_not_sent(f"order:{order.pk}")) == [email]


def test_a_client_without_a_first_name_is_greeted_by_email(
    market, distribution, carrots, mailoutbox
):
    member = MembershipFactory(market=market, user=UserFactory(first_name="", email="x@exemple.fr"))
    order_checkout(
        membership=member,
        distribution=distribution,
        lines=basket_read(market, {str(carrots.pk): "1"}),
        choice="cash",
        token=uuid.uuid4().hex,
    )
    run_jobs()

    assert mailoutbox[0].body.startswith("Bonjour x@exemple.fr,")


def test_a_complement_recap_says_products_were_added_and_are_paid_on_top(
    carrots, honey, order_now, mailoutbox
):
    order = order_now({carrots: "2"}, "transfer")

    order_now({carrots: "2", honey: "1"}, "transfer")

    message = mailoutbox[1]
    assert message.subject == (
        f"Marché de Montreuil — produits ajoutés à votre commande (panier n° {order.number})"
        f" : 6,80{NBSP}€ en plus"
    )
    text, html = bodies(message)
    assert f"Marché de Montreuil{NBSP}: des produits ont été ajoutés à votre commande" in text
    assert f"Cet ajout coûte 6,80{NBSP}€." in text
    assert f"À PAYER EN PLUS : 6,80{NBSP}€" in text
    assert f"- Virement : 5,60{NBSP}€ (référence {order.reference})" in text
    assert "et non le nouveau total" in text
    assert f"Nouveau total de la commande : 12,40{NBSP}€" in text
    assert "est enregistrée" not in text
    for snippet in (
        "des produits ont été ajoutés",
        f"À payer en plus : 6,80{NBSP}€",
        "et non le nouveau total",
    ):
        assert snippet in html
    assert f"Virement : 5,60{NBSP}€ (référence {order.reference})" in html


def test_a_complement_recap_after_a_received_payment_names_no_payment_still_expected(
    member, carrots, honey, order_now, mailoutbox
):
    order = order_now({carrots: "2"}, "cheque")
    payment_receive(payment=order.payments.get(), received_by=None, cheque_number="1234567")

    order_now({carrots: "2", honey: "1"}, "cheque")

    text, _html = bodies(mailoutbox[1])
    assert "Ce montant s'ajoute à ce que vous avez déjà réglé" in text
    assert f"référence {order.reference})" not in text

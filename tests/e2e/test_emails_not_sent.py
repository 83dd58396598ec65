"""An email not sent, on the admin's phone: why, and « Renvoyer », on a 390 px screen."""

import uuid
from decimal import Decimal

from django.urls import reverse

from accounts.models import EmailStatus, OutgoingEmail, Role
from orders.models import Unit
from orders.services import basket_read, order_checkout
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

REFUSED = "SMTPRecipientsRefused: {'marie-charlotte@exemple.fr': (550, b'5.1.1 No such user')}"


def refused_recap(market):
    user = UserFactory(
        first_name="Marie-Charlotte",
        last_name="de La Villardière-Dupont",
        email="marie-charlotte@exemple.fr",
    )
    client = MembershipFactory(market=market, user=user, role=Role.CLIENT)
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    beans = ProductFactory(producer=farm, unit=Unit.KG, unit_price=Decimal("3.00"))
    order = order_checkout(
        membership=client,
        distribution=DistributionFactory(market=market),
        lines=basket_read(market, {str(beans.pk): "2"}),
        choice="cheque",
        token=uuid.uuid4().hex,
    )
    OutgoingEmail.objects.filter(about=f"order:{order.pk}").update(
        status=EmailStatus.FAILED, attempts=1, last_error=REFUSED
    )
    return order


def test_on_a_phone_the_admin_reads_why_and_sends_again(page, log_in, market, treasurer):
    order = refused_recap(market)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(treasurer)
    url = reverse("day_basket", args=[market.slug, order.distribution_id, order.pk])

    page.goto(url)
    box = page.locator(".emails-not-sent")
    assert "Adresse refusée par le serveur de messagerie" in box.inner_text()
    assert "marie-charlotte@exemple.fr" in box.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box.get_by_text("Détail technique").click()
    assert box.get_by_text("No such user").is_visible()
    box.get_by_role("button", name="Renvoyer").click()

    page.wait_for_url(f"**{url}")
    assert "est de nouveau en cours d'envoi" in page.locator(".alert").first.inner_text()
    assert page.locator(".emails-not-sent").count() == 0
    assert "email en attente d'envoi" in page.content()
    assert OutgoingEmail.objects.get(about=f"order:{order.pk}").status == EmailStatus.PENDING

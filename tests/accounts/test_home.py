"""The market's home page: what each person comes for, one click away."""

import uuid
from decimal import Decimal

from django.urls import reverse

from distributions.models import DistributionStatus
from orders.services import basket_read, order_checkout
from payments.services import opening_balance_record
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

NBSP = "\u00a0"


def _home(market):
    return reverse("market_home", args=[market.slug])


def _basket(market, member, distribution, choice="cash"):
    market.payment_methods = ["cash", "transfer"]
    market.iban = "FR7630006000011234567890189"
    market.save()
    bread = ProductFactory(producer=ProducerFactory(market=market), unit_price=Decimal("4.50"))
    return order_checkout(
        membership=member,
        distribution=distribution,
        lines=basket_read(market, {bread.pk: "2"}),
        choice=choice,
        token=uuid.uuid4().hex,
        notify=False,
    )


def test_staff_find_the_distribution_waiting_for_validation(login, market, admin, member):
    distribution = DistributionFactory(market=market)
    _basket(market, member, distribution)
    distribution.status = DistributionStatus.CLOSED
    distribution.save()

    page = login(admin).get(_home(market)).content.decode()

    section = page[page.index('id="home-to-validate"') : page.index('id="home-transfers"')]
    assert "1 panier à valider sur 1" in section
    assert reverse("day_distribution", args=[market.slug, distribution.pk]) in section
    assert reverse("cash_summary", args=[market.slug, distribution.pk]) in section


def test_a_distribution_still_open_for_orders_is_not_yet_to_validate(
    login, market, treasurer, member
):
    _basket(market, member, DistributionFactory(market=market))

    page = login(treasurer).get(_home(market)).content.decode()

    assert "Aucun panier n'attend de validation." in page


def test_staff_see_the_transfers_still_expected(login, market, treasurer, member):
    _basket(market, member, DistributionFactory(market=market), choice="transfer")

    page = login(treasurer).get(_home(market)).content.decode()

    section = page[page.index('id="home-transfers"') :]
    assert f"9,00{NBSP}€" in section and "1 virement pas encore reçu." in section


def test_a_client_sees_where_to_order_and_their_balance_but_no_staff_card(login, market, member):
    distribution = DistributionFactory(market=market)
    opening_balance_record(
        membership=member, amount=Decimal("-8.00"), label="Reprise", recorded_by=None
    )

    page = login(member).get(_home(market)).content.decode()

    assert reverse("distribution_shop", args=[market.slug, distribution.pk]) in page
    assert f"Vous devez 8,00{NBSP}€ au marché." in page
    assert 'id="home-to-validate"' not in page and 'id="home-transfers"' not in page


def test_the_home_page_opens_for_a_membership_made_without_its_account(login, market):
    from accounts.models import Membership, Role
    from tests.factories import UserFactory

    membership = Membership.objects.create(user=UserFactory(), market=market, role=Role.CLIENT)
    membership.account.delete() if hasattr(membership, "account") else None

    response = login(membership).get(_home(market))

    assert response.status_code == 200
    assert "Votre compte est à jour." in response.content.decode()


def test_after_logging_in_again_a_person_lands_on_the_market_they_used_last(
    client, market, other_market, member
):
    from tests.factories import PASSWORD, MembershipFactory

    MembershipFactory(user=member.user, market=other_market)
    assert client.login(username=member.user.email, password=PASSWORD)
    assert client.get(reverse("home")).url == _home(market)  # joined first
    client.get(_home(other_market))
    client.logout()

    assert client.login(username=member.user.email, password=PASSWORD)
    assert client.get(reverse("home")).url == _home(other_market)

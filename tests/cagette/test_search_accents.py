"""Every search box ignores accents and case, and finds full names."""

from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import Membership, Role, User
from cagette.search import PersonText, matching_words
from orders.services import basket_read, order_checkout
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

TYPED = ["lea", "LEA", "léa", "LÉA DUBOIS", "lea dubois", "Dubois Léa", "DUBOÏS"]


@pytest.fixture
def lea(market):
    user = UserFactory(first_name="Léa", last_name="Dubois", email="lea.d@exemple.fr")
    return MembershipFactory(market=market, user=user, role=Role.CLIENT)


@pytest.fixture
def zoe(market):
    user = UserFactory(first_name="Zoé", last_name="Lefèvre", email="zoe@exemple.fr")
    return MembershipFactory(market=market, user=user, role=Role.CLIENT)


@pytest.mark.parametrize("typed", TYPED)
def test_a_member_search_ignores_accents_and_case(lea, zoe, typed):
    found = Membership.objects.for_market(lea.market).search(typed)

    assert list(found) == [lea]


def test_a_member_search_finds_accented_names_from_plain_letters(lea, zoe):
    assert list(Membership.objects.search("lefevre zoe")) == [zoe]


def test_a_member_search_needs_every_word(lea, zoe):
    assert not Membership.objects.search("léa lefèvre").exists()


def test_a_member_search_treats_like_wildcards_as_letters(lea):
    assert not Membership.objects.search("l%a").exists()
    assert not Membership.objects.search("l_a").exists()


@pytest.mark.parametrize("typed", ["lea", "LEA DUBOIS", "dubois lea"])
def test_the_clients_page_finds_lea_without_her_accent(login, treasurer, lea, zoe, typed):
    response = login(treasurer).get(reverse("client_list", args=[lea.market.slug]), {"q": typed})

    assert list(response.context["page"]) == [lea]
    assert "Léa Dubois" in response.content.decode()


@pytest.mark.parametrize("typed", ["lea", "LEA DUBOIS", "dubois lea"])
def test_the_balances_page_finds_lea_without_her_accent(login, treasurer, lea, zoe, typed):
    response = login(treasurer).get(reverse("balance_list", args=[lea.market.slug]), {"q": typed})

    assert [row.name for row in response.context["rows"]] == ["Dubois Léa"]


def test_the_balances_export_follows_an_unaccented_search(login, treasurer, lea, zoe):
    url = reverse("balance_csv", args=[lea.market.slug])

    response = login(treasurer).get(url, {"q": "LEFEVRE"})

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Lefèvre;Zoé;")


@pytest.mark.parametrize("typed", ["lea", "LEA DUBOIS", "dubois lea"])
def test_the_distribution_day_search_finds_lea_without_her_accent(login, admin, lea, zoe, typed):
    distribution = DistributionFactory(market=lea.market)
    farm = ProducerFactory(market=lea.market)
    product = ProductFactory(producer=farm, unit="piece", unit_price=Decimal("4.00"))
    for number, member in enumerate((lea, zoe), start=1):
        order_checkout(
            membership=member,
            distribution=distribution,
            lines=basket_read(lea.market, {product.pk: "1"}),
            choice="cash",
            token=f"{number:032x}",
            notify=False,
        )
    url = reverse("day_distribution", args=[lea.market.slug, distribution.pk])

    response = login(admin).get(url, {"q": typed})

    assert [row.membership for row in response.context["rows"]] == [lea]


def test_the_admin_user_search_ignores_accents(client, lea, zoe):
    boss = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(boss)

    response = client.get(reverse("admin:accounts_user_changelist"), {"q": "lefevre"})

    assert list(response.context["cl"].result_list) == [zoe.user]


@pytest.mark.postgres
def test_a_name_search_can_use_the_trigram_index_on_users(lea):
    users = User.objects.filter(matching_words(PersonText(), "LÉA dub"))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = users.explain()

    assert "user_search_trgm_idx" in plan
    assert list(users) == [lea.user]


def test_the_admin_producer_search_ignores_accents(client, market):
    farm = ProducerFactory(market=market, name="Fromagerie Hélène")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.get(reverse("admin:orders_producer_changelist"), {"q": "helene"})

    assert list(response.context["cl"].result_list) == [farm]

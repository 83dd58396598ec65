"""Search boxes: whatever is typed (or put in the URL), the page answers."""

import pytest
from django.urls import reverse

from cagette.search import SEARCH_MAX_LENGTH, clean_search
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory

NUL = "\x00"


@pytest.mark.parametrize(
    ("typed", "searched"),
    [
        (f"Du{NUL}pont", "Dupont"),
        (f"  {NUL} martin  ", "martin"),
        (None, ""),
        ("x" * 500, "x" * SEARCH_MAX_LENGTH),
    ],
)
def test_search_text_loses_nul_characters_spaces_and_excess(typed, searched):
    assert clean_search(typed) == searched


@pytest.fixture
def dupont(market):
    return MembershipFactory(market=market, user=UserFactory(first_name="Jean", last_name="Dupont"))


def test_a_nul_character_in_the_clients_search_finds_what_the_rest_says(
    login, market, treasurer, dupont
):
    url = reverse("client_list", args=[market.slug])

    response = login(treasurer).get(url, {"q": f"Dup{NUL}ont"})

    assert response.status_code == 200
    assert "Jean Dupont" in response.content.decode()
    assert NUL not in response.content.decode()


def test_a_nul_character_in_the_distribution_day_search_is_ignored(
    login, market, treasurer, dupont
):
    distribution = DistributionFactory(market=market)
    url = reverse("day_distribution", args=[market.slug, distribution.pk])

    response = login(treasurer).get(url, {"q": f"{NUL}dupont"})

    assert response.status_code == 200
    assert response.context["search"] == "dupont"


def test_a_nul_character_in_the_balances_search_is_ignored(login, market, treasurer, dupont):
    url = reverse("balance_list", args=[market.slug])

    response = login(treasurer).get(url, {"q": f"dupont{NUL}"})

    assert response.status_code == 200
    assert "Dupont Jean" in response.content.decode()

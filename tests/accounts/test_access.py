"""Who may open which page: every view is scoped to one market and one role."""

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory

STAFF_PAGES = ["client_list", "balance_list", "balance_csv", "balance_pdf"]
MEMBER_PAGES = ["market_home", "my_account"]


def _url(name, market, **kwargs):
    return reverse(name, kwargs={"market_slug": market.slug, **kwargs})


@pytest.fixture
def pages(market, member):
    urls = [_url(name, market) for name in STAFF_PAGES + MEMBER_PAGES]
    return urls + [_url("client_history", market, membership_id=member.pk)]


def test_anonymous_visitors_are_sent_to_the_login_page(client, pages):
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


@pytest.mark.parametrize("role", ["admin", "treasurer"])
def test_admins_and_treasurers_open_every_page_of_their_market(request, login, pages, role):
    browser = login(request.getfixturevalue(role))
    for url in pages:
        assert browser.get(url).status_code == 200, url


def test_a_client_opens_their_own_pages_but_no_staff_page(login, market, member):
    browser = login(member)
    for name in MEMBER_PAGES:
        assert browser.get(_url(name, market)).status_code == 200, name
    for name in STAFF_PAGES:
        assert browser.get(_url(name, market)).status_code == 403, name
    other = MembershipFactory(market=market)
    assert browser.get(_url("client_history", market, membership_id=other.pk)).status_code == 403


def test_an_admin_of_another_market_finds_nothing_here(login, pages, other_admin):
    browser = login(other_admin)
    for url in pages:
        assert browser.get(url).status_code == 404, url


def test_a_client_of_another_market_is_not_found_through_this_market(
    login, market, admin, other_market
):
    stranger = MembershipFactory(market=other_market)
    url = _url("client_history", market, membership_id=stranger.pk)
    assert login(admin).get(url).status_code == 404


def test_posting_to_another_markets_client_writes_nothing(login, market, admin, other_market):
    from payments.models import Transaction

    stranger = MembershipFactory(market=other_market)
    browser = login(admin)
    for name in ("payment_create", "opening_balance_create"):
        response = browser.post(_url(name, market, membership_id=stranger.pk), {})
        assert response.status_code == 404
    assert not Transaction.objects.exists()


def test_home_sends_a_person_to_their_market(login, market, member):
    response = login(member).get(reverse("home"))
    assert response.status_code == 302
    assert response.url == _url("market_home", market)


def test_a_person_in_two_markets_can_switch_between_them(login, market, other_market, member):
    MembershipFactory(market=other_market, user=member.user)
    browser = login(member)
    page = browser.get(_url("market_home", market)).content.decode()
    assert "Changer de marché" in page
    assert _url("market_home", other_market) in page
    browser.get(_url("market_home", other_market))
    assert browser.get(reverse("home")).url == _url("market_home", other_market)


def test_login_uses_the_email_address(client, member):
    from tests.factories import PASSWORD

    response = client.post(
        reverse("login"), {"username": member.user.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302
    client.logout()
    bad = client.post(reverse("login"), {"username": member.user.email, "password": "faux"})
    assert "Adresse e-mail ou mot de passe incorrect." in bad.content.decode()

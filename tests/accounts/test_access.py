"""Who may open which page: every view is scoped to one market and one role."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from payments.models import Payment, Transaction
from payments.services import opening_balance_record
from tests.factories import MembershipFactory

# The PDF is asked for by a form (a job lays it out): see tests/payments/test_exports.py.
STAFF_PAGES = ["client_list", "balance_list", "balance_csv"]
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


# -- The forms staff send on a client's history ----------------------------------------

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def posts(market, member, admin):
    """Each POST endpoint of a client's history, with a valid form for it."""
    opening = opening_balance_record(
        membership=member, amount=Decimal("-10.00"), label="Reprise", recorded_by=admin.user
    )
    history = {"market_slug": market.slug, "membership_id": member.pk}
    return [
        (
            reverse("opening_balance_create", kwargs=history),
            {
                "opening-amount": "5,00",
                "opening-label": "Reprise de solde",
                "opening-date": "2026-10-01",
                "opening-form_token": TOKEN,
            },
        ),
        (
            reverse("payment_create", kwargs=history),
            {
                "payment-method": "cash",
                "payment-amount": "5,00",
                "payment-paid_on": "2026-10-01",
                "payment-form_token": TOKEN,
            },
        ),
        (
            reverse("transaction_reverse", kwargs={**history, "transaction_id": opening.pk}),
            {"reason": "Saisie en double", "form_token": TOKEN},
        ),
    ]


def _nothing_written():
    # The fixture's opening balance is the only transaction.
    assert Transaction.objects.count() == 1
    assert not Payment.objects.exists()


def test_anonymous_posts_are_sent_to_the_login_page(client, posts):
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url
    _nothing_written()


def test_a_client_cannot_post_any_staff_form(login, market, posts):
    browser = login(MembershipFactory(market=market))
    for url, data in posts:
        assert browser.post(url, data).status_code == 403, url
    _nothing_written()


def test_an_admin_of_another_market_finds_no_form_to_post_to(login, posts, other_admin):
    browser = login(other_admin)
    for url, data in posts:
        assert browser.post(url, data).status_code == 404, url
    _nothing_written()


@pytest.mark.parametrize("role", ["admin", "treasurer"])
def test_admins_and_treasurers_post_every_staff_form(request, login, posts, role):
    browser = login(request.getfixturevalue(role))
    for url, data in posts:
        response = browser.post(url, data)
        assert response.status_code == 302, url
        assert "connexion" not in response.url, url
    assert Transaction.objects.count() == 4  # opening, reprise, payment, reversal
    assert Payment.objects.count() == 1


# -- Error pages ---------------------------------------------------------------------


def test_a_client_opening_a_staff_page_gets_the_french_403_page(login, market, member):
    response = login(member).get(_url("balance_list", market))

    assert response.status_code == 403
    page = response.content.decode()
    assert "Accès refusé" in page
    assert f'href="{_url("market_home", market)}"' in page


def test_a_foreign_id_gets_the_french_404_page(login, market, admin, other_market):
    stranger = MembershipFactory(market=other_market)

    response = login(admin).get(_url("client_history", market, membership_id=stranger.pk))

    assert response.status_code == 404
    page = response.content.decode()
    assert "Page introuvable" in page
    assert f'href="{_url("market_home", market)}"' in page


def test_a_market_one_does_not_belong_to_gets_the_404_page_with_the_way_home(
    login, other_market, member
):
    response = login(member).get(_url("market_home", other_market))

    assert response.status_code == 404
    page = response.content.decode()
    assert "Page introuvable" in page
    assert f'href="{reverse("home")}"' in page


def test_the_500_page_needs_no_context(db):
    from django.template.loader import get_template

    page = get_template("500.html").render()

    assert "Erreur du serveur" in page
    assert 'href="/"' in page


def test_a_page_reads_the_persons_memberships_once_for_access_and_market_switcher(
    login, market, other_market, member
):
    MembershipFactory(user=member.user, market=other_market)
    browser = login(member)
    with CaptureQueriesContext(connection) as queries:
        page = browser.get(_url("my_account", market)).content.decode()
    read = [q["sql"] for q in queries if q["sql"].startswith('SELECT "accounts_membership"')]
    assert len(read) == 1
    # The switcher lists both markets, from that one read.
    assert reverse("market_home", args=[other_market.slug]) in page

"""The menu at the top of every market page (cagette.templatetags.navigation)."""

import re

from django.urls import reverse

from accounts.models import Role
from tests.factories import MembershipFactory


def _menu(login, membership, name="market_home"):
    page = login(membership).get(reverse(name, args=[membership.market.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    return html[html.index('<nav class="navbar') : html.index("</nav>")]


def _links(menu: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', menu)


def test_a_client_sees_their_purchases_only(login, member):
    slug = member.market.slug
    links = _links(_menu(login, member))
    for name in ("shop_distribution_list", "my_orders", "my_account"):
        assert reverse(name, args=[slug]) in links
    assert reverse("balance_list", args=[slug]) not in links
    assert reverse("payment_settings", args=[slug]) not in links


def test_a_treasurer_sees_the_market_pages_but_not_its_settings(login, treasurer):
    slug = treasurer.market.slug
    menu = _menu(login, treasurer)
    for name in ("distribution_list", "pending_transfers", "client_list", "balance_list"):
        assert reverse(name, args=[slug]) in _links(menu)
    assert "Mes achats" in menu and "Paramètres" not in menu
    assert reverse("payment_settings", args=[slug]) not in _links(menu)


def test_an_admin_sees_the_settings(login, admin):
    slug = admin.market.slug
    menu = _menu(login, admin)
    assert "Paramètres" in menu
    for name in ("payment_settings", "producer_list", "product_list"):
        assert reverse(name, args=[slug]) in _links(menu)


def test_the_person_menu_names_them_and_signs_out_with_a_csrf_token(login, member):
    member.user.first_name, member.user.last_name = "Zoé", "L'Hôte"
    member.user.save()
    menu = _menu(login, member, "my_account")
    assert "Zoé L&#x27;Hôte</button>" in menu
    form = menu[menu.index(f'<form method="post" action="{reverse("logout")}">') :]
    token = r'<input type="hidden" name="csrfmiddlewaretoken" value="\w+">'
    assert re.match(r"<form [^>]+>" + token, form)
    assert "Changer de marché" not in menu


def test_the_switcher_marks_the_current_market(login, market, other_market, member):
    MembershipFactory(market=other_market, user=member.user)
    menu = _menu(login, member)
    switcher = menu[menu.index('id="market-switcher"') :]
    here = reverse("market_home", args=[market.slug])
    there = reverse("market_home", args=[other_market.slug])
    assert f'class="dropdown-item active" href="{here}"' in switcher
    assert f'class="dropdown-item" href="{there}"' in switcher


def test_the_menu_follows_a_new_role_and_a_renamed_market_at_once(
    login, market, other_market, treasurer
):
    MembershipFactory(market=other_market, user=treasurer.user)
    assert "Solde des clients" in _menu(login, treasurer)
    treasurer.role = Role.CLIENT
    treasurer.save()
    other_market.name = "AMAP des Lilas (Bagnolet)"
    other_market.save()

    menu = _menu(login, treasurer)

    assert "Solde des clients" not in menu
    assert "AMAP des Lilas (Bagnolet)" in menu


def test_the_menu_speaks_the_chosen_language(login, member):
    client = login(member)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("my_account", args=[member.market.slug])).content.decode()
    menu = page[page.index('<nav class="navbar') : page.index("</nav>")]
    assert "Sign out" in menu and "Se déconnecter" not in menu

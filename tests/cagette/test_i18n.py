"""French first, English on request: the language switcher and the English catalog."""

import gettext
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from payments.services import opening_balance_record
from tests.factories import MembershipFactory

NBSP = "\u00a0"
BROWSER_IN_ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en"}
CATALOG = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.fixture(autouse=True)
def _back_to_the_default_language():
    # The middleware activates the chosen language for the thread; later tests
    # that translate outside a request expect the default one.
    yield
    translation.deactivate()


def _home(membership):
    return reverse("market_home", kwargs={"market_slug": membership.market.slug})


def _choose(client, language, next_url):
    response = client.post(reverse("set_language"), {"language": language, "next": next_url})
    assert response.status_code == 302
    return response


def _debt(membership, amount, by):
    opening_balance_record(
        membership=membership, amount=Decimal(amount), label="Reprise de solde", recorded_by=by
    )


def test_french_by_default_even_when_the_browser_asks_for_english(login, member):
    client = login(member)
    response = client.get(_home(member), **BROWSER_IN_ENGLISH)
    html = response.content.decode()
    assert response.headers["Content-Language"] == "fr"
    assert '<html lang="fr">' in html
    assert "Mon compte" in html and "Se déconnecter" in html
    assert "My account" not in html and "Sign out" not in html


def test_choosing_english_translates_the_market_home(login, treasurer):
    client = login(treasurer)
    _choose(client, "en", _home(treasurer))
    response = client.get(_home(treasurer), **BROWSER_IN_ENGLISH)
    html = response.content.decode()
    assert response.headers["Content-Language"] == "en"
    assert '<html lang="en">' in html
    assert "You are signed in as Treasurer." in html
    for words in ("Client balances", "My account", "View clients", "Sign out", "Language"):
        assert words in html
    assert "Solde des clients" not in html and "Se déconnecter" not in html


def test_client_balances_in_english_keep_amounts_in_euros(login, treasurer, member):
    _debt(member, "-1234.50", treasurer.user)
    MembershipFactory(market=member.market)
    client = login(treasurer)
    url = reverse("balance_list", kwargs={"market_slug": treasurer.market.slug})
    _choose(client, "en", url)
    html = client.get(url).content.decode()
    assert '<h1 class="h3 mb-0">Client balances</h1>' in html
    for words in ("Owed to the market", "Client credit", "Export as CSV", "In debt", "Settled"):
        assert words in html
    assert "1 client in debt" in html
    assert "2 clients, 1 settled" in html  # the two clients; the treasurer buys nothing
    # Amounts stay written the one way the whole app writes them.
    assert f'id="total-owed">1{NBSP}234,50{NBSP}€' in html
    assert f"-1{NBSP}234,50{NBSP}€" in html
    assert "Dû au marché" not in html and "débiteur" not in html


def test_my_account_in_english(login, member, treasurer):
    _debt(member, "-32.40", treasurer.user)
    client = login(member)
    url = reverse("my_account", kwargs={"market_slug": member.market.slug})
    _choose(client, "en", url)
    html = client.get(url).content.decode()
    assert '<h1 class="h3 mb-3">My account</h1>' in html
    assert f"You owe the market 32,40{NBSP}€." in html
    assert "My transactions" in html and "Opening balance" in html
    assert "Mes opérations" not in html and "Vous devez" not in html


def test_back_to_french_with_the_switcher(login, member):
    client = login(member)
    _choose(client, "en", _home(member))
    _choose(client, "fr", _home(member))
    html = client.get(_home(member)).content.decode()
    assert "Mon compte" in html and "My account" not in html


@pytest.mark.parametrize("cookie", ["de", "en-us", "", "xx"])
def test_an_unknown_language_in_the_cookie_falls_back_to_french(client, login, member, cookie):
    client = login(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = cookie
    response = client.get(_home(member), **BROWSER_IN_ENGLISH)
    assert response.headers["Content-Language"] == "fr"
    assert "Mon compte" in response.content.decode()


def _po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: {"flags", "msgctxt", "msgid", "msgid_plural", "msgstr[n]"...}."""
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}

    def unquote(text):
        return re.sub(r"\\(.)", lambda m: escapes[m.group(1)], text.strip()[1:-1])

    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry, key = {"flags": set()}, None
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                entry[key] += unquote(line)
            else:
                key, _, value = line.partition(" ")
                entry[key] = unquote(value)
        if "msgid" in entry:
            entries.append(entry)
    return entries


def _translations(entry) -> list[str]:
    if "msgid_plural" in entry:
        return [value for key, value in entry.items() if key.startswith("msgstr[")]
    return [entry["msgstr"]]


def test_every_string_of_the_english_catalog_is_translated():
    entries = [e for e in _po_entries(CATALOG / "django.po") if e["msgid"]]
    assert len(entries) > 100
    for entry in entries:
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        translations = _translations(entry)
        assert len(translations) == (2 if "msgid_plural" in entry else 1), entry["msgid"]
        # The singular's French, then the plural's, for each form.
        sources = [entry["msgid"], entry.get("msgid_plural", entry["msgid"])]
        for text, source in zip(translations, sources, strict=False):
            assert text.strip(), f"untranslated: {entry['msgid']!r}"
            # The placeholders of the French form (a singular may leave out the
            # count), or the message breaks at run time.
            expected = set(PLACEHOLDER.findall(source))
            assert set(PLACEHOLDER.findall(text)) == expected, entry["msgid"]


def test_the_compiled_catalog_matches_the_po_file():
    """The committed .mo is compiled from the current .po (run `make messages`)."""
    with open(CATALOG / "django.mo", "rb") as mo:
        catalog = gettext.GNUTranslations(mo)._catalog
    for entry in _po_entries(CATALOG / "django.po"):
        if not entry["msgid"]:
            continue
        msgid = entry["msgid"]
        if "msgctxt" in entry:
            msgid = f"{entry['msgctxt']}\x04{msgid}"
        if "msgid_plural" in entry:
            for n, text in enumerate(_translations(entry)):
                assert catalog.get((msgid, n)) == text, msgid
        else:
            assert catalog.get(msgid) == entry["msgstr"], msgid


def test_the_switcher_names_each_language_in_its_own_words(login, member):
    """A visitor who reads no French finds « English », not « Anglais »."""
    page = login(member).get(reverse("market_home", args=[member.market.slug])).content.decode()

    assert ">English</option>" in page and ">Français</option>" in page
    assert "Anglais" not in page

"""Every page that carries money, on a 390 px phone, in French and in English.

Volunteers use their phone at the pickup: no page may be wider than the
screen, and no amount may be cut off, hidden in a sideways-scrolling table or
clipped by its box. The data has long names and amounts such as 12 345,67 €.
"""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from distributions.cash.till import cash_count_record
from orders.models import Unit
from orders.services import basket_read, order_checkout
from payments.bank import ParsedLine, ParsedStatement
from payments.bank.store import statement_store
from payments.models import Payment, PaymentStatus
from payments.services import opening_balance_record, payment_record
from tests.e2e.conftest import ARTIFACTS
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

WIDTH = 390
LONG_NAME = ("Marie-Charlotte", "de La Villardière-Dupont")
# Money as the pages write it (« 12 345,67 € », « −5,00 € »); what the layout must keep whole.
MONEY = r"[−-]?\d{1,3}(?:[\u00a0\u202f ]\d{3})*,\d{2}\u00a0€"

# For every amount on screen: where it is cut (outside the viewport, or by a box that
# clips its overflow). Also every amount input whose text does not fit in it.
FIND_CUT_AMOUNTS = """
(pattern) => {
  const width = document.documentElement.clientWidth;
  const money = new RegExp(pattern, "g");
  const cut = [];
  let seen = 0;
  const clippers = (el) => {
    const boxes = [];
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (style.overflowX !== "visible" || style.overflowY !== "visible") boxes.push(a);
    }
    return boxes;
  };
  const hidden = (el) => !el.checkVisibility({visibilityProperty: true})
    || el.closest(".visually-hidden, .visually-hidden-focusable");
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!el || hidden(el) || el.closest("script, noscript")) continue;
    for (const match of node.data.matchAll(money)) {
      seen += 1;
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const boxes = clippers(el).map((a) => a.getBoundingClientRect());
      for (const r of range.getClientRects()) {
        const outside = r.left < -0.5 || r.right > width + 0.5;
        const clipped = boxes.some((b) => r.left < b.left - 0.5 || r.right > b.right + 0.5);
        if (outside || clipped) cut.push(`${match[0]} in ${el.tagName} "${el.className}"`);
      }
    }
  }
  for (const input of document.querySelectorAll("input[inputmode=decimal]")) {
    if (hidden(input) || !input.value) continue;
    seen += 1;
    if (input.scrollWidth > input.clientWidth + 1) cut.push(`input ${input.name}=${input.value}`);
  }
  return {seen, cut, pageWidth: document.documentElement.scrollWidth};
}
"""


def _market_with_long_amounts(market):
    market.name = "Association pour le maintien d'une agriculture paysanne des Lilas"
    market.payment_methods = ["cheque", "cash", "transfer"]
    market.iban = "FR7630006000011234567890189"
    market.bic = "AGRIFRPP882"
    market.account_holder = market.name
    market.save()
    farm = ProducerFactory(market=market, name="Ferme biologique des Coteaux de la Vallée")
    product = ProductFactory(
        producer=farm,
        name="Panier de légumes de saison, grand format familial",
        unit=Unit.BASKET,
        unit_price=Decimal("12345.67"),
    )
    return DistributionFactory(market=market, place="Salle polyvalente Jean-Jaurès"), product


def _long_named_client(market):
    user = UserFactory(first_name=LONG_NAME[0], last_name=LONG_NAME[1])
    return MembershipFactory(market=market, user=user, role=Role.CLIENT)


def _basket_with_a_shortfall(market, distribution, product, staff):
    """A basket of 12 345,67 € partly paid (cash, cheque, transfer), an old debt, a counted till."""
    client = _long_named_client(market)
    opening_balance_record(
        membership=client, amount=Decimal("-1234.56"), label="Reprise", recorded_by=staff.user
    )
    order = order_checkout(
        membership=client,
        distribution=distribution,
        lines=basket_read(market, {product.pk: "1"}),
        choice="transfer",
        token="phone",
        notify=False,
    )
    for method, amount, bank in [
        ("cash", "6000.30", ""),
        ("cheque", "1000.00", "Crédit Agricole Île-de-France"),
        ("transfer", "345.37", ""),
    ]:
        payment_record(
            membership=client,
            order=order,
            method=method,
            amount=Decimal(amount),
            recorded_by=staff.user,
            cheque_number="0012345678" if bank else "",
            bank=bank,
        )
    cash_count_record(
        distribution=distribution,
        counted_by=staff.user,
        opening_float=Decimal("12345.67"),
        counted=Decimal("50.30"),
    )
    return client, order


@pytest.fixture
def phone(request, chromium, live_server):
    """A 390 px touch screen; like ``page``, it keeps a screenshot of a failure."""
    context = chromium.new_context(
        base_url=live_server.url,
        viewport={"width": WIDTH, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
    context.close()


def _log_in(page, membership, language):
    page.goto("/connexion/")
    page.get_by_label("Adresse e-mail").fill(membership.user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"**/m/{membership.market.slug}/")
    url = page.url
    cookie = {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": url}
    page.context.add_cookies([cookie])


def _assert_fits_the_phone(page, name):
    shots = os.environ.get("PHONE_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(shots) / f"{name}.png", full_page=True)
    found = page.evaluate(FIND_CUT_AMOUNTS, MONEY)
    assert found["pageWidth"] <= WIDTH, f"{name}: the page is {found['pageWidth']} px wide"
    assert found["seen"], f"{name}: no amount found on the page"
    assert not found["cut"], f"{name}: amounts cut off: {found['cut']}"
    thousands = re.compile(r"\d[\u00a0\u202f ]\d{3},\d{2}\u00a0€")
    assert thousands.search(page.locator("main").inner_text()), f"{name}: no long amount shown"


def _visit(page, url, name):
    page.goto(url)
    _assert_fits_the_phone(page, name)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_client_orders_and_reads_their_account_on_a_phone(phone, market, language):
    distribution, product = _market_with_long_amounts(market)
    client = _long_named_client(market)
    opening_balance_record(
        membership=client, amount=Decimal("12345.67"), label="Reprise", recorded_by=client.user
    )
    _log_in(phone, client, language)
    slug = market.slug

    _visit(phone, reverse("distribution_shop", args=[slug, distribution.pk]), f"shop-{language}")
    phone.locator(f"#qty-{product.pk}").fill("1")
    phone.locator("main form button[type=submit]").click()
    phone.wait_for_url("**/panier/")
    _assert_fits_the_phone(phone, f"review-{language}")

    _visit(phone, reverse("checkout_payment", args=[slug, distribution.pk]), f"payment-{language}")
    for radio in phone.locator("main .form-check").all():
        for part in (radio.locator("input"), radio.locator("label")):
            box = part.bounding_box()
            assert box["width"] >= 24 and box["height"] >= 24, f"tap target {box}"
    phone.locator("input[value=transfer]").check()
    phone.locator("main form button[type=submit]").click()
    phone.wait_for_url("**/commandes/*/")
    _assert_fits_the_phone(phone, f"confirmation-{language}")

    _visit(phone, reverse("my_orders", args=[slug]), f"my-orders-{language}")
    _visit(phone, reverse("my_account", args=[slug]), f"my-account-{language}")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_an_admin_runs_the_distribution_day_on_a_phone(phone, market, admin, language):
    distribution, product = _market_with_long_amounts(market)
    _client, order = _basket_with_a_shortfall(market, distribution, product, admin)
    # A basket to be paid in cash as declared: ready for the bulk validation.
    order_checkout(
        membership=_long_named_client(market),
        distribution=distribution,
        lines=basket_read(market, {product.pk: "2"}),
        choice="cash",
        token="cash",
        notify=False,
    )
    _log_in(phone, admin, language)
    day = [market.slug, distribution.pk]

    _visit(phone, reverse("market_home", args=[market.slug]), f"home-{language}")
    _visit(phone, reverse("day_distribution", args=day), f"day-{language}")
    _visit(phone, reverse("day_bulk", args=day), f"bulk-{language}")
    _visit(phone, reverse("distribution_orders", args=day), f"orders-{language}")
    _visit(phone, reverse("day_basket", args=[*day, order.pk]), f"basket-{language}")
    _visit(phone, reverse("cash_summary", args=day), f"cash-{language}")
    _visit(phone, reverse("order_edit", args=[market.slug, order.pk]), f"order-edit-{language}")
    _visit(phone, reverse("product_list", args=[market.slug]), f"products-{language}")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_treasurer_reads_the_balances_on_a_phone(phone, market, treasurer, language):
    distribution, product = _market_with_long_amounts(market)
    client, _order = _basket_with_a_shortfall(market, distribution, product, treasurer)
    _log_in(phone, treasurer, language)

    _visit(phone, reverse("balance_list", args=[market.slug]), f"balances-{language}")
    _visit(phone, reverse("pending_transfers", args=[market.slug]), f"transfers-{language}")
    _visit(phone, reverse("client_history", args=[market.slug, client.pk]), f"history-{language}")
    line = _bank_statement(market, treasurer)
    _visit(phone, reverse("bank_statements", args=[market.slug]), f"bank-{language}")
    assign = reverse("bank_line_assign", args=[market.slug, line.pk])
    _visit(phone, assign, f"bank-assign-{language}")


def _bank_statement(market, treasurer):
    """A statement with a long label, a large credit, and one paying a transfer expected."""
    expected = Payment.objects.filter(market=market, status=PaymentStatus.PENDING).first()
    day = timezone.localdate()
    credit = ParsedLine(
        day, None, Decimal("12345.67"), "VIR SEPA " + "TRES LONG LIBELLE " * 8, "B1", "", ""
    )
    lines = [credit]
    if expected is not None:
        lines.append(ParsedLine(day, None, expected.amount, "VIR", "B2", "", expected.reference))
    parsed = ParsedStatement("camt053", "", "EUR", None, None, None, None, tuple(lines))
    statement, _new = statement_store(
        market=market,
        parsed=parsed,
        data=b"x",
        filename="releve-de-compte-decembre-2026.xml",
        imported_by=treasurer.user,
    )
    return statement.lines.get(amount=Decimal("12345.67"), bank_id="B1")

"""The main pages of each role satisfy the Content-Security-Policy in Chromium.

Every page is opened on the demo market; the browser's own reports (console
messages and ``securitypolicyviolation`` events) must stay empty, and the
behaviour the pages' scripts give (now in static/js/app.js) still works.
"""

import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Membership
from distributions.models import Distribution
from orders.models import Order

DEMO_PASSWORD = "cagette-demo"
SLUG = "marche-de-montreuil"
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def demo(db):
    call_command("seed_demo", verbosity=0)
    past, coming = Distribution.objects.filter(market__slug=SLUG).order_by("date")[:2]
    return {"past": past, "coming": coming}


@pytest.fixture
def violations(page):
    """What the browser reported against the policy, page after page."""
    found = []
    page.add_init_script(LISTEN)
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


def _log_in(page, email):
    page.goto("/connexion/")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"**/m/{SLUG}/")


def _visit(page, violations, paths):
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        page.wait_for_load_state("load")
        reported = page.evaluate("window.__csp")
        assert not reported and not violations, f"{path}: {reported} {violations}"


def _url(name, **kwargs):
    return reverse(name, kwargs={"market_slug": SLUG, **kwargs})


def _staff_paths(demo):
    past = demo["past"]
    order = Order.objects.filter(distribution=past).order_by("pk").first()
    client = Membership.objects.get(market__slug=SLUG, user__email="client@demo.cagette.fr")
    return [
        _url("market_home"),
        _url("distribution_list"),
        _url("day_distribution", distribution_id=past.pk),
        _url("day_basket", distribution_id=past.pk, order_id=order.pk),
        _url("cash_summary", distribution_id=past.pk),
        _url("client_list"),
        _url("balance_list"),
        _url("client_history", membership_id=client.pk),
        _url("pending_transfers"),
        _url("my_account"),
    ]


def test_the_admin_pages_report_no_policy_violation(page, violations, demo):
    _log_in(page, "admin@demo.cagette.fr")
    admin_only = [
        _url("payment_settings"),
        _url("producer_list"),
        _url("product_list"),
        _url("distribution_edit", pk=demo["coming"].pk),
        _url("distribution_orders", distribution_id=demo["past"].pk),
        _url("day_bulk", distribution_id=demo["past"].pk),
    ]

    _visit(page, violations, _staff_paths(demo) + admin_only)


def test_the_treasurer_pages_report_no_policy_violation(page, violations, demo):
    _log_in(page, "tresorier@demo.cagette.fr")

    _visit(page, violations, _staff_paths(demo))


def test_the_client_pages_report_no_policy_violation_while_ordering(page, violations, demo):
    _log_in(page, "client@demo.cagette.fr")
    coming = demo["coming"]
    order = Order.objects.filter(membership__user__email="client@demo.cagette.fr").first()
    _visit(
        page,
        violations,
        [
            _url("market_home"),
            _url("shop_distribution_list"),
            _url("distribution_shop", distribution_id=coming.pk),
            _url("my_orders"),
            _url("order_detail", order_id=order.pk),
            _url("my_account"),
        ],
    )

    page.goto(_url("distribution_shop", distribution_id=coming.pk))
    page.locator("input[name^=qty-]").first.fill("1")
    page.locator("form[method=post] button[type=submit]").last.click()
    page.goto(_url("checkout_payment", distribution_id=coming.pk))
    page.locator("input[name=choice]").first.check()
    page.get_by_role("button", name="Valider ma commande").click()
    page.wait_for_url(re.compile(r".*/commandes/\d+/"))
    assert not page.evaluate("window.__csp") and not violations


def test_the_language_selector_still_switches_without_an_inline_handler(page, violations, demo):
    _log_in(page, "client@demo.cagette.fr")
    page.goto(_url("my_account"))

    page.get_by_label("Langue").select_option("en")

    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert not violations


def test_the_transfer_filter_still_sends_itself_when_a_distribution_is_picked(
    page, violations, demo
):
    _log_in(page, "tresorier@demo.cagette.fr")
    page.goto(_url("pending_transfers"))
    select = page.locator("#distribution-filter select").first
    values = select.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
    picked = next(v for v in values if v)

    select.select_option(picked)

    page.wait_for_url(re.compile(r".*distribution=" + re.escape(picked)))
    assert not violations


def test_tout_selectionner_still_ticks_the_rows_of_its_section(page, violations, demo):
    _log_in(page, "tresorier@demo.cagette.fr")
    page.goto(_url("pending_transfers"))
    section = page.locator("input[name=payments]").first.get_attribute("data-section")
    box = page.locator(f'input.select-all[data-section="{section}"]')
    rows = page.locator(f'input[name=payments][data-section="{section}"]')

    box.check()

    for n in range(rows.count()):
        expect(rows.nth(n)).to_be_checked()
    assert not violations

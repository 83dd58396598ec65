"""Every response carries a Content-Security-Policy that allows no inline script."""

import re
from pathlib import Path

from django.urls import reverse

from payments.models import Export
from tests.jobs import run_jobs

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Emails and PDFs are not run by a browser under our policy.
NOT_PAGES = ("emails", "pdf")


def _directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    parts = (p.split() for p in policy.split(";") if p.strip())
    return {name: values for name, *values in parts}


def _page_templates():
    for path in TEMPLATES.rglob("*.html"):
        if not any(part in NOT_PAGES for part in path.relative_to(TEMPLATES).parts):
            yield path


def test_the_login_page_carries_the_policy(client, db):
    directives = _directives(client.get(reverse("login")))

    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


def test_market_pages_carry_the_policy(login, member):
    response = login(member).get(reverse("my_account", args=[member.market.slug]))

    assert response.status_code == 200
    assert "'unsafe-inline'" not in _directives(response)["script-src"]


def test_only_style_attributes_are_allowed_inline(client, db):
    directives = _directives(client.get(reverse("login")))

    assert directives["style-src-attr"] == ["'unsafe-inline'"]
    assert "'unsafe-inline'" not in directives["style-src"]


def test_forms_may_send_the_client_to_stripe_checkout_and_nowhere_else(client, db):
    form_action = _directives(client.get(reverse("login")))["form-action"]

    assert "'self'" in form_action
    assert "https://checkout.stripe.com" in form_action


def test_no_page_template_has_an_inline_script_or_event_handler():
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=")
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in _page_templates()
        if inline.search(path.read_text())
    ]

    assert offenders == []


def test_a_pdf_carries_no_page_policy_that_would_block_the_browsers_viewer(login, treasurer):
    slug = treasurer.market.slug
    browser = login(treasurer)
    browser.post(reverse("balance_pdf", args=[slug]))
    run_jobs()
    export = Export.objects.get()
    response = browser.get(reverse("export_download", args=[slug, export.pk]))

    assert response["Content-Type"] == "application/pdf"
    assert "Content-Security-Policy" not in response.headers

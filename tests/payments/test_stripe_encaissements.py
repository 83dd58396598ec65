"""« Encaissements » after a refund to the card: the page, the CSV and the ledger agree."""

from decimal import Decimal

from django.urls import reverse

from distributions.cash.summary import summary_read
from payments.ledger import account_balance, market_account
from payments.models import AccountKind
from payments.stripe.refunds import refund_request
from tests.jobs import run_jobs

NBSP = "\u00a0"


def test_a_refund_to_the_card_shows_net_of_the_refund_everywhere(
    login,
    treasurer,
    online_market,
    distribution,
    checkout,
    fake_stripe,
    deliver,
):
    """13,60 € paid online, 5,00 € given back to the card."""
    order = checkout.payment.order
    fake_stripe.pay(checkout.session_id)
    deliver(fake_stripe.session_event("checkout.session.completed", checkout.session_id))
    run_jobs()
    checkout.refresh_from_db()
    refund_request(
        payment=checkout.received_payment, amount=Decimal("5.00"), requested_by=None, token="r" * 32
    )
    run_jobs()
    assert deliver(fake_stripe.refunded_event(checkout.session_id)).status_code == 200
    run_jobs()

    summary = summary_read(distribution)

    assert summary.online.total == Decimal("13.60")
    assert summary.online_refunded == Decimal("5.00")
    assert summary.online_net == account_balance(market_account(online_market, AccountKind.ONLINE))
    assert [(gap.order_id, gap.received) for gap in summary.partial] == [
        (order.pk, Decimal("8.60"))
    ]
    browser = login(treasurer)
    page = browser.get(reverse("cash_summary", args=[online_market.slug, distribution.pk]))
    refunds = page.content.decode().split('id="online-refunds"')[1].split("</table>")[0]
    assert f"5,00{NBSP}€" in refunds and f"8,60{NBSP}€" in refunds
    csv = browser.get(reverse("cash_csv", args=[online_market.slug, distribution.pk]))
    rows = [line.split(";") for line in csv.content.decode("utf-8-sig").splitlines()]
    assert any("Remboursement" in row and "-5,00" in row for row in rows), rows

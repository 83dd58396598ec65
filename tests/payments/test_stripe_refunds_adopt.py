"""``manage.py stripe_refunds_adopt``: refunds posted as a running total before payments
migration 0010 get rows of their own, once, without being posted again; until then
the refund path refuses their session and ``check_ledger`` lists it."""

import logging
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F

from payments.ledger import account_balance, client_account, market_account
from payments.models import AccountKind, StripeCheckout, StripeRefund, Transaction
from payments.stripe.refund_events import _post_refund
from payments.stripe.refunds import refund_request
from tests.jobs import make_due, run_jobs

ADOPT = "manage.py stripe_refunds_adopt"


@pytest.fixture
def received(checkout, fake_stripe, deliver):
    """The online payment of 13,60 €, paid and received."""
    fake_stripe.pay(checkout.session_id)
    deliver(fake_stripe.session_event("checkout.session.completed", checkout.session_id))
    checkout.refresh_from_db()
    return checkout


def _posted_the_old_way(checkout, fake_stripe, amount: str) -> None:
    """What the code before 0010 did: one posting keyed on the charge's running total."""
    charge = fake_stripe.charge_for(checkout.session_id)
    key = f"stripe-refund:{charge['id']}:{charge['amount_refunded']}"
    _post_refund(checkout.received_payment, Decimal(amount), key=key)
    StripeCheckout.objects.filter(pk=checkout.pk).update(refunded=F("refunded") + Decimal(amount))


@pytest.fixture
def dashboard_refund(received, fake_stripe):
    """3,00 € refunded from Stripe's dashboard before 0010: posted, without a row."""
    refund = fake_stripe.refund_from_dashboard(received.session_id, 300)
    _posted_the_old_way(received, fake_stripe, "3.00")
    return refund


def _adopt(*options) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("stripe_refunds_adopt", *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _refund_postings(checkout) -> list[Decimal]:
    entries = client_account(checkout.payment.membership).entries.filter(transaction__kind="refund")
    return sorted(entries.values_list("amount", flat=True))


def _rows() -> list[tuple]:
    return list(
        StripeRefund.objects.order_by("pk").values_list("refund_id", "amount", "status", "posted")
    )


def _check_ledger() -> str:
    out = StringIO()
    call_command("check_ledger", stdout=out)
    return out.getvalue()


def test_a_dashboard_refund_posted_the_old_way_gets_its_row_and_is_not_posted_again(
    received, dashboard_refund
):
    out, err = _adopt()

    assert _rows() == [(dashboard_refund["id"], Decimal("3.00"), "succeeded", True)]
    assert StripeRefund.objects.get().requested_by is None
    assert _refund_postings(received) == [Decimal("3.00")]  # the old posting, alone
    received.refresh_from_db()
    assert received.refunded == Decimal("3.00")
    assert f"Session {received.session_id} " in out
    assert f"{dashboard_refund['id']} 3.00 succeeded (made in Stripe's dashboard)" in out
    assert "1 session(s) adopted." in out
    assert err == ""


def test_a_request_the_old_code_took_as_failed_gets_stripes_refund_on_its_own_row(
    received, fake_stripe
):
    asked = refund_request(
        payment=received.received_payment, amount=Decimal("4.00"), requested_by=None, token="w" * 32
    )
    run_jobs()  # the refund_send job asks Stripe
    asked.refresh_from_db()  # Stripe's refund id
    # The old code lost Stripe's answer and marked it failed; the event then came.
    StripeRefund.objects.filter(pk=asked.pk).update(status="failed", refund_id="")
    _posted_the_old_way(received, fake_stripe, "4.00")

    _adopt()

    assert _rows() == [(asked.refund_id, Decimal("4.00"), "succeeded", True)]
    assert _refund_postings(received) == [Decimal("4.00")]


def test_a_session_paid_before_its_charge_was_recorded_is_adopted_through_stripes_refunds(
    received, dashboard_refund
):
    StripeCheckout.objects.filter(pk=received.pk).update(charge_id="")  # paid before 0009

    _adopt()

    assert _rows() == [(dashboard_refund["id"], Decimal("3.00"), "succeeded", True)]


def test_only_what_the_old_postings_hold_is_adopted_oldest_first(
    received, fake_stripe, dashboard_refund
):
    later = fake_stripe.refund_from_dashboard(received.session_id, 200)  # after the upgrade

    _adopt()

    assert _rows() == [(dashboard_refund["id"], Decimal("3.00"), "succeeded", True)]
    assert not StripeRefund.objects.filter(refund_id=later["id"]).exists()


def test_a_refund_event_after_the_adoption_posts_only_the_new_refund(
    received, fake_stripe, deliver, dashboard_refund
):
    _adopt()
    refund_request(
        payment=received.received_payment, amount=Decimal("2.00"), requested_by=None, token="z" * 32
    )
    run_jobs()  # the refund_send job asks Stripe

    event = fake_stripe.refunded_event(received.session_id)
    assert deliver(event).status_code == 200
    deliver(event)

    assert _refund_postings(received) == [Decimal("2.00"), Decimal("3.00")]
    received.refresh_from_db()
    assert received.refunded == Decimal("5.00")
    assert all(row.posted for row in StripeRefund.objects.all())
    _check_ledger()


def test_an_adopted_refund_that_fails_afterwards_gives_the_money_back_once(
    received, fake_stripe, deliver
):
    fake_stripe.refund_status = "pending"
    refund = fake_stripe.refund_from_dashboard(received.session_id, 300)
    _posted_the_old_way(received, fake_stripe, "3.00")
    _adopt()
    fake_stripe.refund_ends(refund["id"], "failed")

    for _ in range(2):
        deliver(fake_stripe.refund_event(refund["id"]))

    payment = received.received_payment
    assert client_account(payment.membership).held == Decimal("0.00")
    assert account_balance(market_account(payment.market, AccountKind.ONLINE)) == Decimal("13.60")
    received.refresh_from_db()
    assert received.refunded == Decimal("0.00")
    assert _check_ledger().startswith("Checking")


def test_a_second_run_changes_nothing_and_asks_stripe_nothing(
    received, fake_stripe, dashboard_refund
):
    _adopt()
    rows, asked = _rows(), len(fake_stripe.calls("GET", "/v1/refunds"))

    out, err = _adopt()

    assert _rows() == rows
    assert len(fake_stripe.calls("GET", "/v1/refunds")) == asked
    assert out == "0 session(s) adopted.\n"
    assert err == ""


def test_a_dry_run_shows_what_it_would_write_and_writes_nothing(
    received, fake_stripe, dashboard_refund
):
    out, _ = _adopt("--dry-run")

    assert f"{dashboard_refund['id']} 3.00 succeeded" in out
    assert "would be marked posted (dry run)" in out
    assert "Dry run: 1 session(s) would be adopted; nothing was written." in out
    assert not StripeRefund.objects.exists()
    with pytest.raises(CommandError):
        _check_ledger()  # still to adopt


def test_old_postings_holding_more_than_stripe_lists_are_left_for_a_person(received, fake_stripe):
    fake_stripe.refund_from_dashboard(received.session_id, 300)
    _posted_the_old_way(received, fake_stripe, "5.00")  # 2,00 € Stripe knows nothing of
    err = StringIO()

    with pytest.raises(CommandError, match="1 session"):
        call_command("stripe_refunds_adopt", stdout=StringIO(), stderr=err)

    assert not StripeRefund.objects.exists()
    assert f"Session {received.session_id} " in err.getvalue()
    assert "holds 5.00" in err.getvalue()
    assert "Stripe lists 3.00" in err.getvalue()
    assert "look into it by hand" in err.getvalue()


def test_stripe_unreachable_exits_non_zero_and_writes_nothing(
    received, fake_stripe, dashboard_refund
):
    fake_stripe.fail_next = [503, 503]  # the request and the library's one retry
    err = StringIO()

    with pytest.raises(CommandError, match="could not be asked"):
        call_command("stripe_refunds_adopt", stdout=StringIO(), stderr=err)

    assert not StripeRefund.objects.exists()
    assert "Stripe could not be asked" in err.getvalue()


def test_check_ledger_names_the_command_for_a_session_not_adopted(received, dashboard_refund):
    out = StringIO()

    with pytest.raises(CommandError, match="1 problem"):
        call_command("check_ledger", stdout=out)

    assert f"Online session {received.session_id} " in out.getvalue()
    assert "has 3.00 refunded, but its refunds marked posted total 0.00" in out.getvalue()
    assert ADOPT in out.getvalue()
    _adopt()
    assert "Ledger OK" in _check_ledger()


def test_a_refund_event_on_a_session_not_adopted_waits_and_posts_nothing_until_adopted(
    received, fake_stripe, deliver, dashboard_refund, caplog
):
    refund_request(
        payment=received.received_payment, amount=Decimal("2.00"), requested_by=None, token="v" * 32
    )
    run_jobs()  # the refund_send job asks Stripe
    event = fake_stripe.refunded_event(received.session_id)

    with caplog.at_level(logging.ERROR, logger="payments.stripe.refund_events"):
        response = deliver(event)  # stored at once; its job waits
    assert response.status_code == 200
    assert [ran.outcome for ran in response.jobs] == ["retry"]

    assert ADOPT in caplog.text
    assert _refund_postings(received) == [Decimal("3.00")]
    assert not Transaction.objects.filter(idempotency_key__startswith="stripe-refund:re_").exists()
    _adopt()
    make_due()
    assert [ran.outcome for ran in run_jobs()] == ["succeeded"]
    assert _refund_postings(received) == [Decimal("2.00"), Decimal("3.00")]


def test_reconcile_reports_a_session_not_adopted_and_posts_nothing(received, dashboard_refund):
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("stripe_reconcile", stdout=StringIO(), stderr=err)

    assert ADOPT in err.getvalue()
    assert _refund_postings(received) == [Decimal("3.00")]

"""Producer transfers meet refunds and refusals: a refund takes back each producer's
part, a transfer Stripe refuses for good is undone, and each one names its charge."""

import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connections, transaction

from payments.ledger import account_balance, market_account, sales_account
from payments.ledger import posting as ledger
from payments.models import AccountKind, ProducerTransfer, StripeCheckout, Transaction
from payments.stripe import gateway
from payments.stripe.checkout import checkout_sync
from payments.stripe.payout_sending import payout_send
from payments.stripe.refunds import refund_request
from tests.jobs import make_due, run_jobs

from .conftest import online_payment, open_session

TRANSFERS = r"/v1/transfers"
REVERSALS = r"/v1/transfers/[\w-]+/reversals"


@pytest.fixture
def refund(fake_stripe, deliver):
    """``refund(checkout, amount)``: an admin refunds ``amount``; the confirming event."""
    tokens = iter("abcdefgh")

    def _refund(checkout, amount):
        refund_request(
            payment=checkout.received_payment,
            amount=Decimal(amount),
            requested_by=None,
            token=next(tokens) * 32,
        )
        run_jobs()  # the job asks Stripe for the refund
        event = fake_stripe.refunded_event(checkout.session_id)
        redeliver(event)
        return event

    def redeliver(event):
        assert deliver(event).status_code == 200
        run_jobs()

    _refund.redeliver = redeliver
    return _refund


def _rows(producers) -> dict:
    rows = {row.producer_id: row for row in ProducerTransfer.objects.all()}
    return {name: rows.get(producer.pk) for name, producer in producers.items()}


def _online(market) -> Decimal:
    return account_balance(market_account(market, AccountKind.ONLINE))


def _reconcile() -> str:
    out = StringIO()
    call_command("stripe_reconcile", stdout=out, stderr=StringIO())
    return out.getvalue()


def _commission(market, percent: str):
    market.stripe_commission_percent = Decimal(percent)
    market.save()


# -- Refunds take back the producers' part ------------------------------------------------------


def test_a_full_refund_takes_back_each_producer_transfer(
    online_market, basket, producers, fake_stripe, pay, refund
):
    checkout = pay(basket)

    refund(checkout, "24.85")

    assert _online(online_market) == Decimal("0.00")  # was −23,65 €
    rows = _rows(producers)
    calls = fake_stripe.calls("POST", f"/v1/transfers/{rows['hives'].transfer_id}/reversals")
    assert [(c.params["amount"], c.idempotency_key) for c in calls] == [
        ("1360", f"transfer-reversal-{rows['hives'].pk}-1360")
    ]
    for name in ("hives", "farm"):
        row = rows[name]
        assert (row.reversed, row.reversal_status) == (row.amount, "sent")
        assert row.reversal_id in fake_stripe.transfer_reversals
        assert fake_stripe.transfers[row.transfer_id]["reversed"] is True
    # The order still stands: the market owes the producers their sales again.
    assert account_balance(sales_account(online_market, producers["hives"])) == Decimal("-13.60")
    assert account_balance(sales_account(online_market, producers["farm"])) == Decimal("-10.05")
    call_command("check_ledger", stdout=StringIO())


def test_partial_refunds_take_back_each_cent_once_whatever_the_order_of_events(
    online_market, basket, producers, fake_stripe, pay, refund
):
    _commission(online_market, "2.50")
    checkout = pay(basket)
    first = refund(checkout, "10.00")
    second = refund(checkout, "5.00")  # 15,00 € in all

    for event in (first, second, first):
        refund.redeliver(event)

    hives = _rows(producers)["hives"]
    # 13,26 sent × 15 / 24,85 = 8,004…; commission 0,34 × 15 / 24,85 = 0,205…: rounded down.
    assert fake_stripe.transfers[hives.transfer_id]["amount_reversed"] == 800
    assert (hives.reversed, hives.reversed_commission) == (Decimal("8.00"), Decimal("0.20"))
    calls = fake_stripe.calls("POST", f"/v1/transfers/{hives.transfer_id}/reversals")
    assert [(c.params["amount"], c.idempotency_key) for c in calls] == [
        ("533", f"transfer-reversal-{hives.pk}-533"),  # 13,26 × 10 / 24,85 = 5,336…
        ("267", f"transfer-reversal-{hives.pk}-800"),
    ]
    taken_back = Transaction.objects.filter(idempotency_key__startswith="producer-transfer-rev")
    assert taken_back.count() == 4  # two refunds × two producers
    # Received 24,85, sent 23,06, refunded 15,00, taken back 8,00 + 5,91.
    assert _online(online_market) == Decimal("0.70")
    # 0,59 less 0,20 + 0,15
    assert account_balance(sales_account(online_market)) == Decimal("-0.24")
    call_command("check_ledger", stdout=StringIO())


def test_a_refund_before_the_transfers_are_sent_sends_only_the_rest(
    online_market, basket, producers, fake_stripe, pay, refund
):
    fake_stripe.fail("POST", TRANSFERS, 503)
    fake_stripe.fail("POST", TRANSFERS, 503)
    checkout = pay(basket)
    assert {row.status for row in _rows(producers).values() if row} == {"failed"}

    refund(checkout, "10.00")
    assert "2 transfer(s) to producers sent." in _reconcile()

    rows = _rows(producers)
    sent = {c.params["destination"]: c for c in fake_stripe.calls("POST", TRANSFERS)[2:]}
    # 13,60 − 13,60 × 10 / 24,85 (5,47) and 10,05 − 4,04.
    assert sent["acct_1Hives"].params["amount"] == "813"
    key = f"{rows['hives'].idempotency_key}-813-attempt-2"  # the second attempt
    assert sent["acct_1Hives"].idempotency_key == key
    assert sent["acct_1Farm"].params["amount"] == "601"
    assert rows["hives"].sent_amount == Decimal("8.13")
    assert fake_stripe.calls("POST", REVERSALS) == []  # nothing to take back at Stripe
    assert _online(online_market) == Decimal("24.85") - Decimal("10.00") - Decimal("14.14")
    call_command("check_ledger", stdout=StringIO())


def test_a_fully_refunded_payment_sends_its_producers_nothing(
    online_market, basket, producers, fake_stripe, pay, refund
):
    fake_stripe.fail("POST", TRANSFERS, 503)
    fake_stripe.fail("POST", TRANSFERS, 503)
    checkout = pay(basket)

    refund(checkout, "24.85")
    _reconcile()

    assert len(fake_stripe.calls("POST", TRANSFERS)) == 2  # the two failed attempts only
    assert {row.status for row in _rows(producers).values() if row} == {"cancelled"}
    assert _online(online_market) == Decimal("0.00")
    call_command("check_ledger", stdout=StringIO())


def test_a_transfer_made_though_its_answer_was_lost_is_not_sent_again_after_a_refund(
    online_market, basket, producers, fake_stripe, pay, refund
):
    checkout = pay(basket)
    hives = _rows(producers)["hives"]
    made = hives.transfer_id
    # As if Stripe's answer had been lost: we do not know it was made.
    ProducerTransfer.objects.filter(pk=hives.pk).update(status="failed", transfer_id="")

    refund(checkout, "10.00")
    _reconcile()

    hives.refresh_from_db()
    assert (hives.status, hives.transfer_id, hives.sent_amount) == ("sent", made, Decimal("13.60"))
    assert len(fake_stripe.transfers) == 2
    # What the refund took back is then reversed at Stripe instead.
    assert fake_stripe.transfers[made]["amount_reversed"] == 547
    assert _online(online_market) == Decimal("24.85") - Decimal("23.65") - Decimal("10.00") + (
        Decimal("5.47") + Decimal("4.04")
    )


def test_a_reversal_stripe_fails_is_asked_again_by_reconciliation(
    online_market, basket, producers, fake_stripe, pay, refund
):
    checkout = pay(basket)
    fake_stripe.fail("POST", REVERSALS, 500)

    refund(checkout, "24.85")
    statuses = sorted(row.reversal_status for row in _rows(producers).values() if row)
    assert statuses == ["failed", "sent"]

    assert "1 transfer reversal(s) made." in _reconcile()
    assert {row.reversal_status for row in _rows(producers).values() if row} == {"sent"}
    assert all(t["reversed"] for t in fake_stripe.transfers.values())


# -- Refusals ----------------------------------------------------------------------------------


def test_a_transfer_stripe_refuses_for_good_is_undone_and_not_tried_again(
    online_market, basket, producers, fake_stripe, pay
):
    _commission(online_market, "2.50")
    fake_stripe.unknown_accounts = {"acct_1Farm"}  # disconnected meanwhile

    pay(basket)

    farm = _rows(producers)["farm"]
    assert farm.status == "refused"
    assert "No such destination" in farm.error
    assert farm.transaction.reversal.reason.startswith("Versement refusé par Stripe")
    # The market owes the farm its eggs again, and pays it as before.
    assert account_balance(sales_account(online_market, producers["farm"])) == Decimal("-10.05")
    # The hives' commission only.
    assert account_balance(sales_account(online_market)) == Decimal("-0.34")
    assert _online(online_market) == Decimal("24.85") - Decimal("13.26")

    assert "transfer(s) to producers sent" not in _reconcile()
    assert len(fake_stripe.calls("POST", TRANSFERS)) == 2
    call_command("check_ledger", stdout=StringIO())


@pytest.mark.parametrize(
    ("status", "code"), [(500, ""), (503, ""), (429, ""), (400, "balance_insufficient")]
)
def test_a_transfer_stripe_fails_for_a_while_is_sent_again(
    basket, producers, fake_stripe, pay, status, code
):
    fake_stripe.fail("POST", TRANSFERS, status, code)
    pay(basket)
    assert sorted(row.status for row in _rows(producers).values() if row) == ["failed", "sent"]

    assert "1 transfer(s) to producers sent." in _reconcile()

    assert {row.status for row in _rows(producers).values() if row} == {"sent"}
    assert not Transaction.objects.filter(kind="reversal").exists()


def test_a_permission_refused_is_a_refusal_for_good(fake_stripe):
    fake_stripe.fail("POST", TRANSFERS, 403)
    with pytest.raises(gateway.GatewayRefused):
        gateway.transfer_create(
            amount=Decimal("1.00"),
            destination="acct_1Hives",
            transfer_group="order-1",
            source_transaction="",
            idempotency_key="k",
            metadata={},
        )


# -- The charge that funds them ----------------------------------------------------------------


def test_transfers_name_the_charge_of_the_payment_told_by_webhook(
    basket, producers, fake_stripe, pay
):
    checkout = pay(basket)

    charge = fake_stripe.charge_for(checkout.session_id)["id"]
    calls = fake_stripe.calls("POST", TRANSFERS)
    assert [c.params.get("source_transaction") for c in calls] == [charge, charge]
    assert checkout.charge_id == charge
    assert len(fake_stripe.calls("GET", f"/v1/payment_intents/{checkout.payment_intent}")) == 1
    assert {row.source_transaction for row in ProducerTransfer.objects.all()} == {charge}


def test_transfers_name_the_charge_read_when_the_session_is_looked_up(
    basket, producers, fake_stripe
):
    checkout = open_session(online_payment(basket))
    fake_stripe.pay(checkout.session_id)

    checkout = checkout_sync(checkout)  # the return page, or reconciliation
    run_jobs()

    charge = fake_stripe.charge_for(checkout.session_id)["id"]
    calls = fake_stripe.calls("POST", TRANSFERS)
    assert [c.params.get("source_transaction") for c in calls] == [charge, charge]
    assert StripeCheckout.objects.get(pk=checkout.pk).charge_id == charge
    assert not any(r.path.startswith("/v1/payment_intents") for r in fake_stripe.requests)


# -- A refund waits for a transfer being sent ----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_transfer_being_sent_holds_its_row_so_a_refund_waits(
    basket, producers, fake_stripe, pay, monkeypatch
):
    fake_stripe.fail("POST", TRANSFERS, 503)
    pay(basket)
    row = ProducerTransfer.objects.get(status="failed")
    seen = []

    def try_lock():
        try:
            with transaction.atomic():
                ProducerTransfer.objects.select_for_update(nowait=True).get(pk=row.pk)
            seen.append("free")
        except DatabaseError:
            seen.append("locked")
        finally:
            connections.close_all()

    def transfer_create(**kwargs):  # Stripe answering while a refund comes in
        other = threading.Thread(target=try_lock)
        other.start()
        other.join(timeout=10)
        return {"id": "tr_test_1", "amount": gateway.to_cents(kwargs["amount"])}

    monkeypatch.setattr(gateway, "transfer_create", transfer_create)
    payout_send(row.pk)

    assert seen == ["locked"]
    row.refresh_from_db()
    assert row.status == "sent"


@pytest.fixture
def locks(monkeypatch):
    """Each time accounts are locked, in order: the ids locked (up front by a
    flow or for a floor, or by a posting's balance update)."""
    calls = []
    original_lock, original_write = ledger._lock_accounts, ledger.rows_write

    def lock_spy(account_ids):
        calls.append(sorted(account_ids))
        return original_lock(account_ids)

    def write_spy(txn, legs, deltas, record=None, **options):
        calls.append(sorted(pk for pk, delta in deltas.items() if delta))
        return original_write(txn, legs, deltas, record, **options)

    monkeypatch.setattr(ledger, "_lock_accounts", lock_spy)
    monkeypatch.setattr(ledger, "rows_write", write_spy)
    return calls


def _first_lock_covers_the_rest(calls) -> None:
    assert len(calls) > 1
    first = calls[0]
    later = {pk for call in calls[1:] for pk in call}
    assert later <= set(first), f"locked after the first lock: {sorted(later - set(first))}"


def test_receiving_a_payment_with_transfers_locks_all_its_accounts_first(basket, pay, locks):
    pay(basket)
    _first_lock_covers_the_rest(locks)


def test_a_refund_with_take_backs_locks_all_its_accounts_first(basket, pay, refund, locks):
    checkout = pay(basket)
    locks.clear()
    refund(checkout, "24.85")
    _first_lock_covers_the_rest(locks)


# -- A transfer whose answer was lost ----------------------------------------------------------


def test_a_lost_transfer_fully_refunded_is_found_at_stripe_and_reversed(
    basket, producers, fake_stripe, pay, refund
):
    checkout = pay(basket)
    hives = _rows(producers)["hives"]
    made = hives.transfer_id
    # Stripe made it, but its answer was lost: the row says failed.
    ProducerTransfer.objects.filter(pk=hives.pk).update(status="failed", transfer_id="")

    refund(checkout, "24.85")
    _reconcile()

    hives.refresh_from_db()
    assert (hives.status, hives.transfer_id, hives.reversal_status) == ("sent", made, "sent")
    assert fake_stripe.transfers[made]["amount_reversed"] == 1360


def test_a_transfer_never_made_fully_refunded_is_cancelled(
    basket, producers, fake_stripe, pay, refund
):
    fake_stripe.fail("POST", TRANSFERS, 500)  # before Stripe did anything
    checkout = pay(basket)
    failed = next(row for row in _rows(producers).values() if row and row.status == "failed")

    refund(checkout, "24.85")
    make_due()  # the failed transfer's job, tried again
    run_jobs()

    failed.refresh_from_db()
    assert failed.status == "cancelled"
    assert len(fake_stripe.transfers) == 1


# -- Every attempt sends the same parameters ---------------------------------------------------


def test_a_retried_transfer_keeps_the_charge_of_its_first_attempt(
    basket, producers, fake_stripe, monkeypatch, pay
):
    real_create = gateway.transfer_create

    def answer_lost(**params):
        real_create(**params)
        raise gateway.GatewayUnavailable("Timed out.")

    monkeypatch.setattr(gateway, "payment_intent_retrieve", lambda intent: {"latest_charge": None})
    monkeypatch.setattr(gateway, "transfer_create", answer_lost)
    checkout = pay(basket)  # the charge is not known yet: sent without it
    StripeCheckout.objects.filter(pk=checkout.pk).update(charge_id="")
    monkeypatch.undo()  # the charge is known now, and answers come back

    assert "2 transfer(s) to producers sent." in _reconcile()

    assert len(fake_stripe.transfers) == 2
    assert {row.source_transaction for row in ProducerTransfer.objects.all()} == {""}


def test_a_key_reused_with_other_parameters_is_refused_for_good(fake_stripe):
    params = dict(destination="acct_1Hives", transfer_group="order-1", source_transaction="")
    gateway.transfer_create(amount=Decimal("1.00"), idempotency_key="k", metadata={}, **params)

    with pytest.raises(gateway.GatewayRefused):
        gateway.transfer_create(amount=Decimal("2.00"), idempotency_key="k", metadata={}, **params)


def test_stripe_calls_give_up_within_about_ten_seconds(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    options = gateway.client()._requestor
    tries = 1 + options._options.max_network_retries
    assert options._client._timeout * tries <= 10

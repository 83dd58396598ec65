"""Several producers in one basket: each one with a connected Stripe account is sent
their share of the online payment, less the market's commission, once."""

import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from distributions.cash.online import online_split
from orders.models import Unit
from orders.services import basket_read, order_checkout
from payments.ledger import Leg, account_balance, market_account, sales_account, transaction_post
from payments.models import AccountKind, Payment, ProducerTransfer, Transaction
from payments.stripe.refunds import refund_request
from payments.stripe.shares import commission_of, shares_of
from tests.factories import MembershipFactory
from tests.factories_catalog import ProducerFactory, ProductFactory
from tests.jobs import queued, run_jobs

from .conftest import online_payment, open_session, order_online

NBSP = "\u00a0"


def _commission(market, percent: str):
    market.stripe_commission_percent = Decimal(percent)
    market.save()


def _paid_event(fake_stripe, checkout):
    fake_stripe.pay(checkout.session_id)
    return fake_stripe.session_event("checkout.session.completed", checkout.session_id)


def _deliver_paid(fake_stripe, deliver, checkout, times=1):
    event = _paid_event(fake_stripe, checkout)
    for _ in range(times):
        assert deliver(event).status_code == 200
        run_jobs()
    return event


def _transfer_calls(fake_stripe):
    return fake_stripe.calls("POST", "/v1/transfers")


def test_each_connected_producer_is_sent_their_share_less_the_commission(
    online_market,
    basket,
    producers,
    fake_stripe,
    deliver,
):
    _commission(online_market, "2.50")
    payment = online_payment(basket)
    checkout = open_session(payment)

    _deliver_paid(fake_stripe, deliver, checkout)

    calls = sorted(_transfer_calls(fake_stripe), key=lambda c: c.params["destination"])
    assert [(c.params["destination"], c.params["amount"]) for c in calls] == [
        ("acct_1Farm", "980"),  # 10,05 − 0,25 (2,5 % rounded to the cent)
        ("acct_1Hives", "1326"),  # 13,60 − 0,34
    ]
    hives, farm = producers["hives"], producers["farm"]
    for call, producer in ((calls[0], farm), (calls[1], hives)):
        assert call.params["currency"] == "eur"
        assert call.params["transfer_group"] == f"order-{basket.pk}"
        assert call.idempotency_key == f"transfer-{payment.pk}-{producer.pk}"
        assert call.metadata["payment_id"] == str(payment.pk)
        assert call.metadata["producer_id"] == str(producer.pk)
    # The payment's PaymentIntent is in the same transfer group.
    session_call = fake_stripe.calls("POST", "/v1/checkout/sessions")[0]
    assert session_call.params["payment_intent_data"]["transfer_group"] == f"order-{basket.pk}"

    rows = {row.producer_id: row for row in ProducerTransfer.objects.all()}
    assert set(rows) == {hives.pk, farm.pk}
    assert (rows[hives.pk].share, rows[hives.pk].commission, rows[hives.pk].amount) == (
        Decimal("13.60"),
        Decimal("0.34"),
        Decimal("13.26"),
    )
    assert (rows[farm.pk].share, rows[farm.pk].commission, rows[farm.pk].amount) == (
        Decimal("10.05"),
        Decimal("0.25"),
        Decimal("9.80"),
    )
    for row in rows.values():
        assert row.status == "sent"
        assert row.transfer_id in fake_stripe.transfers

    # The ledger: each share leaves the producer's sales account and the online account.
    market = online_market
    assert account_balance(sales_account(market, hives)) == Decimal("0.00")
    assert account_balance(sales_account(market, farm)) == Decimal("0.00")
    greens = sales_account(market, producers["greens"])
    assert account_balance(greens) == Decimal("-1.20")  # still owed
    assert account_balance(sales_account(market)) == Decimal("-0.59")  # the commission kept
    online = market_account(market, AccountKind.ONLINE)
    assert account_balance(online) == Decimal("24.85") - Decimal("13.26") - Decimal("9.80")
    postings = Transaction.objects.filter(kind="producer_transfer")
    assert sorted(postings.values_list("idempotency_key", flat=True)) == sorted(
        [f"producer-transfer-{payment.pk}-{hives.pk}", f"producer-transfer-{payment.pk}-{farm.pk}"]
    )
    assert all(txn.order_id == basket.pk for txn in postings)
    call_command("check_ledger", stdout=StringIO())


def test_the_same_event_delivered_twice_transfers_and_posts_once(basket, fake_stripe, deliver):
    checkout = open_session(online_payment(basket))
    event = _deliver_paid(fake_stripe, deliver, checkout, times=2)
    # Even another event saying the same thing changes nothing.
    later = fake_stripe.session_event(
        "checkout.session.async_payment_succeeded", event["data"]["object"]["id"]
    )
    assert deliver(later).status_code == 200
    run_jobs()

    assert len(_transfer_calls(fake_stripe)) == 2
    assert len(fake_stripe.transfers) == 2
    assert ProducerTransfer.objects.count() == 2
    assert Transaction.objects.filter(kind="producer_transfer").count() == 2
    call_command("check_ledger", stdout=StringIO())


def test_no_transfer_when_no_producer_has_an_account(checkout, fake_stripe, deliver):
    _deliver_paid(fake_stripe, deliver, checkout)

    assert Payment.objects.get(pk=checkout.payment_id).status == "received"
    assert _transfer_calls(fake_stripe) == []
    assert not ProducerTransfer.objects.exists()
    assert not Transaction.objects.filter(kind="producer_transfer").exists()


def test_a_partial_payment_is_split_in_proportion_and_the_cents_left_stay_with_the_market(
    online_market, basket, producers, fake_stripe, deliver
):
    payment = online_payment(basket)
    Payment.objects.filter(pk=payment.pk).update(amount=Decimal("10.00"))  # a part of 24,85
    payment.refresh_from_db()
    checkout = open_session(payment)

    _deliver_paid(fake_stripe, deliver, checkout)

    amounts = {c.params["destination"]: c.params["amount"] for c in _transfer_calls(fake_stripe)}
    # 13,60 × 10 / 24,85 = 5,4728… and 10,05 × 10 / 24,85 = 4,0442…, rounded down.
    assert amounts == {"acct_1Hives": "547", "acct_1Farm": "404"}
    online = market_account(online_market, AccountKind.ONLINE)
    assert account_balance(online) == Decimal("10.00") - Decimal("5.47") - Decimal("4.04")
    call_command("check_ledger", stdout=StringIO())


def test_a_complement_pays_only_what_is_still_unpaid(
    online_market,
    member,
    distribution,
    producers,
    fake_stripe,
    deliver,
):
    honey = ProductFactory(
        producer=producers["hives"], name="Miel", unit=Unit.PIECE, unit_price=Decimal("6.80")
    )
    salad = ProductFactory(
        producer=producers["greens"], name="Salade", unit=Unit.PIECE, unit_price=Decimal("10.00")
    )
    order = order_online(member, distribution, honey)  # 13,60 €, paid and transferred
    _deliver_paid(fake_stripe, deliver, open_session(online_payment(order)))
    order_checkout(
        membership=member,
        distribution=distribution,
        lines=basket_read(online_market, {honey.pk: "2", salad.pk: "1"}),
        choice="online_card",
        token=uuid.uuid4().hex,
        notify=False,
    )
    complement = online_payment(order)
    assert complement.amount == Decimal("10.00")

    _deliver_paid(fake_stripe, deliver, open_session(complement))

    # The salad's producer has no account: the market pays them; the honey is paid already.
    assert [c.params["amount"] for c in _transfer_calls(fake_stripe)] == ["1360"]
    assert not complement.producer_transfers.exists()
    assert account_balance(sales_account(online_market, producers["hives"])) == Decimal("0.00")
    assert account_balance(market_account(online_market, AccountKind.ONLINE)) == Decimal("10.00")


def test_shares_add_up_to_no_more_than_the_payment():
    a, b, c = object(), object(), object()
    totals = {a: Decimal("10.00"), b: Decimal("10.00"), c: Decimal("10.00")}

    shares = shares_of(totals, Decimal("10.00"))

    assert shares == {a: Decimal("3.33"), b: Decimal("3.33"), c: Decimal("3.33")}
    assert Decimal("10.00") - sum(shares.values()) == Decimal("0.01")  # to the market
    assert shares_of(totals, Decimal("30.00")) == totals
    assert shares_of(totals, Decimal("45.00")) == totals  # never more than the lines
    assert commission_of(Decimal("10.05"), Decimal("2.5")) == Decimal("0.25")
    assert commission_of(Decimal("0.30"), Decimal("5")) == Decimal("0.02")  # 0,015 half up
    assert commission_of(Decimal("13.60"), Decimal("0")) == Decimal("0.00")


def test_a_failed_transfer_is_marked_and_sent_again_by_reconciliation(
    basket, producers, fake_stripe, deliver
):
    checkout = open_session(online_payment(basket))
    fake_stripe.fail("POST", "/v1/transfers", 503)  # Stripe fails the first one, for a while

    _deliver_paid(fake_stripe, deliver, checkout)

    statuses = sorted(ProducerTransfer.objects.values_list("status", flat=True))
    assert statuses == ["failed", "sent"]
    assert len(fake_stripe.transfers) == 1
    assert Transaction.objects.filter(kind="producer_transfer").count() == 2

    out = StringIO()
    call_command("stripe_reconcile", stdout=out, stderr=StringIO())

    assert "1 transfer(s) to producers sent." in out.getvalue()
    assert set(ProducerTransfer.objects.values_list("status", flat=True)) == {"sent"}
    assert len(fake_stripe.transfers) == 2
    keys = [c.idempotency_key for c in _transfer_calls(fake_stripe)]
    # Looked up at Stripe first, then sent under a key of its own (Stripe replays a
    # saved 500 for the first one).
    assert len(keys) == 3 and keys[2] == f"{keys[0]}-attempt-2"


def test_a_transfer_whose_tries_ran_out_is_sent_again_by_reessayer_on_encaissements(
    login, treasurer, other_market, basket, distribution, producers, fake_stripe, deliver, settings
):
    settings.JOB_RETRY_FOR_HOURS = 0  # the job gives up at once
    fake_stripe.fail("POST", "/v1/transfers", 503)
    _deliver_paid_jobs_failing(fake_stripe, deliver, open_session(online_payment(basket)))
    failed = ProducerTransfer.objects.get(status="failed")
    assert queued("payout_send") == []  # no try left: it waits for someone
    cash = reverse("cash_summary", args=[basket.market.slug, distribution.pk])
    staff = login(treasurer)

    page = staff.get(cash).content.decode()

    assert "Pas encore fait" in page and "Réessayer" in page
    retry = reverse("payout_retry", args=[basket.market.slug, distribution.pk, failed.pk])
    assert f'action="{retry}"' in page
    stranger = login(MembershipFactory(market=other_market, role="admin"))
    elsewhere = retry.replace(f"/m/{basket.market.slug}/", f"/m/{other_market.slug}/")
    assert stranger.post(elsewhere).status_code == 404
    staff = login(treasurer)
    assert staff.post(retry).url == cash
    staff.post(retry)  # a double click
    assert len(queued("payout_send")) == 1

    run_jobs()

    failed.refresh_from_db()
    assert failed.status == "sent" and len(fake_stripe.transfers) == 2
    assert "Pas encore fait" not in staff.get(cash).content.decode()


def _deliver_paid_jobs_failing(fake_stripe, deliver, checkout):
    assert deliver(_paid_event(fake_stripe, checkout), run=False).status_code == 200
    run_jobs(raise_errors=False)


def test_encaissements_shows_the_split(
    login,
    treasurer,
    online_market,
    basket,
    distribution,
    fake_stripe,
    deliver,
):
    _commission(online_market, "2.50")
    checkout = open_session(online_payment(basket))
    _deliver_paid(fake_stripe, deliver, checkout)

    response = login(treasurer).get(
        reverse("cash_summary", args=[online_market.slug, distribution.pk])
    )

    page = response.content.decode()
    assert 'id="online-split"' in page
    split = page[page.index('id="online-split"') : page.index('id="online-kept"')]
    assert "Rucher des Lilas" in split and "Ferme du Bois" in split
    assert "Maraîcher Dupont" not in split
    for amount in ("13,26", "0,34", "9,80", "0,25", "23,06", "0,59", "23,65"):
        assert f"{amount}{NBSP}€" in split
    assert f"1,79{NBSP}€" in page[page.index('id="online-kept"') :]


def test_encaissements_shows_refused_transfers_and_leaves_refunds_out_of_what_stays(
    login,
    treasurer,
    online_market,
    basket,
    distribution,
    fake_stripe,
    deliver,
):
    fake_stripe.unknown_accounts = {"acct_1Farm"}
    checkout = open_session(online_payment(basket))
    _deliver_paid(fake_stripe, deliver, checkout)
    payment = Payment.objects.get(pk=checkout.payment_id)
    refund_request(payment=payment, amount=Decimal("10.00"), requested_by=None, token="r" * 32)
    run_jobs()
    deliver(fake_stripe.refunded_event(checkout.session_id))
    run_jobs()

    page = (
        login(treasurer)
        .get(reverse("cash_summary", args=[online_market.slug, distribution.pk]))
        .content.decode()
    )

    split = page[page.index('id="online-split"') : page.index('id="online-kept"')]
    assert "1 versement refusé par Stripe" in split
    # The hives keep 13,60 less 13,60 × 10 / 24,85 (5,47) taken back.
    assert f"8,13{NBSP}€" in split
    kept = page[page.index('id="online-kept"') :]
    # Received 24,85, refunded 10,00, kept by the hives 8,13.
    assert f"Reste au marché : 6,72{NBSP}€" in kept
    assert f"Remboursé aux clients : 10,00{NBSP}€" in kept
    refused = page[page.index('id="online-refused"') :]
    assert "Ferme du Bois" in refused and "No such destination" in refused
    assert account_balance(market_account(online_market, AccountKind.ONLINE)) == Decimal("6.72")


def test_the_split_keeps_apart_two_producers_of_the_same_name(
    online_market,
    other_market,
    basket,
    distribution,
    producers,
    fake_stripe,
    deliver,
):
    # Names are unique within a market, but the split must not rest on a name.
    checkout = open_session(online_payment(basket))
    _deliver_paid(fake_stripe, deliver, checkout)
    namesake = ProducerFactory(market=other_market, name="Rucher des Lilas")
    hives = ProducerTransfer.objects.get(producer=producers["hives"])
    ProducerTransfer.objects.create(
        payment=hives.payment,
        producer=namesake,
        destination="acct_1Namesake",
        share=Decimal("1.00"),
        commission=Decimal("0.00"),
        amount=Decimal("1.00"),
        transaction=transaction_post(
            market=online_market,
            kind="producer_transfer",
            label="Versement",
            legs=[
                Leg(sales_account(online_market), Decimal("1.00")),
                Leg(market_account(online_market, AccountKind.ONLINE), Decimal("-1.00")),
            ],
        )[0],
    )

    rows = [row for row in online_split(distribution).rows if row.producer == "Rucher des Lilas"]

    assert sorted(row.transferred for row in rows) == [Decimal("1.00"), Decimal("13.60")]
    assert {row.producer_id for row in rows} == {producers["hives"].pk, namesake.pk}


def test_encaissements_without_transfers_shows_no_split(login, treasurer, market, distribution):
    response = login(treasurer).get(reverse("cash_summary", args=[market.slug, distribution.pk]))

    assert response.status_code == 200
    assert 'id="online-split"' not in response.content.decode()


# -- Settings --------------------------------------------------------------------------------


def test_a_producer_account_id_must_look_like_one(online_market):
    producer = ProducerFactory(market=online_market, stripe_account_id="1234")
    with pytest.raises(ValidationError):
        producer.full_clean()
    producer.stripe_account_id = "acct_1Hives"
    producer.full_clean()


def test_the_producer_form_saves_the_account_id(online_market):
    from orders.forms import ProducerForm

    form = ProducerForm(
        {"name": "Rucher", "active": "on", "stripe_account_id": "not-an-account"},
        market=online_market,
    )
    assert not form.is_valid() and "stripe_account_id" in form.errors
    form = ProducerForm(
        {"name": "Rucher", "active": "on", "stripe_account_id": "acct_1Hives"},
        market=online_market,
    )
    assert form.is_valid(), form.errors
    assert form.save().stripe_account_id == "acct_1Hives"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2,5", Decimal("2.50")), ("", Decimal("0.00")), ("100", Decimal("100.00"))],
)
def test_the_commission_is_read_as_a_percentage(text, expected):
    from payments.settings_forms import commission_normalized

    assert commission_normalized(text) == expected


@pytest.mark.parametrize("text", ["-1", "100,01", "2,555", "abc"])
def test_a_commission_out_of_range_is_refused(text):
    from payments.settings_forms import commission_normalized

    with pytest.raises(ValidationError):
        commission_normalized(text)


def test_the_commission_is_set_on_the_payment_settings_page(login, admin, online_market):
    from tests.payments.test_settings import form_data, url

    online_market.payment_methods = ["cheque", "online_card"]  # no transfers: no IBAN asked
    online_market.save()
    client = login(admin)
    page = client.get(url(online_market)).content.decode()
    assert 'name="stripe_commission_percent"' in page

    response = client.post(
        url(online_market), form_data(online_market, stripe_commission_percent="2,5"), follow=True
    )

    online_market.refresh_from_db()
    assert online_market.stripe_commission_percent == Decimal("2.50")
    change = online_market.settings_changes.get(field="stripe_commission_percent")
    assert (change.old_value, change.new_value) == ("0.00", "2.50")
    assert "2,50 %" in response.content.decode()

    refused = client.post(
        url(online_market), form_data(online_market, stripe_commission_percent="150")
    )
    assert refused.status_code == 400
    online_market.refresh_from_db()
    assert online_market.stripe_commission_percent == Decimal("2.50")


def test_the_producer_page_has_the_account_field(login, admin, online_market):
    response = login(admin).get(reverse("producer_create", args=[online_market.slug]))

    assert 'name="stripe_account_id"' in response.content.decode()

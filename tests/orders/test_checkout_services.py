"""Checkout services: what recording a basket writes in the books, and what it refuses."""

import datetime
import importlib
import re
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from distributions.models import DistributionStatus
from orders.models import Order, OrderLine, Unit
from orders.services import (
    BasketLine,
    CheckoutError,
    basket_read,
    checkout_choices,
    order_checkout,
)
from payments.ledger import account_balance, client_account, sales_account
from payments.models import Payment, PaymentStatus, Transaction, TransactionKind
from payments.services import opening_balance_record, payment_cancel
from tests.factories import MarketFactory, MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

NBSP = "\u00a0"
ALL_METHODS = ["cheque", "cash", "transfer", "card_terminal", "online_card", "cagnotte"]
REFERENCE = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{4}$")


@pytest.fixture
def market(db, market):
    # ``db`` named here too: pytest does not count the fixtures an overridden
    # fixture uses, and without it the test database would not be set up.
    market.payment_methods = ALL_METHODS
    market.iban = "FR7630006000011234567890189"
    market.save()
    return market


@pytest.fixture
def farm(market):
    return ProducerFactory(market=market, name="Ferme du Bois")


@pytest.fixture
def beekeeper(market):
    return ProducerFactory(market=market, name="Rucher des Lilas")


@pytest.fixture
def carrots(farm):
    return ProductFactory(producer=farm, name="Carottes", unit=Unit.KG, unit_price=Decimal("2.80"))


@pytest.fixture
def honey(beekeeper):
    return ProductFactory(
        producer=beekeeper, name="Miel", unit=Unit.PIECE, unit_price=Decimal("6.80")
    )


@pytest.fixture
def distribution(market):
    return DistributionFactory(market=market, date=datetime.date(2026, 12, 4))


def checkout(member, distribution, quantities, choice, token=None):
    """Read ``{product: typed quantity}`` as the shop does, then record it."""
    lines = basket_read(member.market, {str(p.pk): q for p, q in quantities.items()})
    return order_checkout(
        membership=member,
        distribution=distribution,
        lines=lines,
        choice=choice,
        token=token or uuid.uuid4().hex,
    )


def credit(member, amount):
    opening_balance_record(
        membership=member, amount=Decimal(amount), label="Reprise de solde", recorded_by=None
    )


def held(member) -> Decimal:
    return client_account(member).held


def assert_nothing_recorded():
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert Payment.objects.count() == 0
    assert not Transaction.objects.filter(kind=TransactionKind.ORDER).exists()


def assert_ledger_clean():
    call_command("check_ledger", stdout=StringIO())


# What the client is offered


def test_the_client_is_offered_only_the_methods_the_market_enabled(market):
    market.payment_methods = ["transfer", "cash"]
    assert checkout_choices(market) == ["cash", "transfer"]


def test_sur_place_is_offered_when_several_on_site_methods_are_enabled(market):
    market.payment_methods = ["cheque", "cash", "card_terminal", "transfer"]
    assert checkout_choices(market) == ["cheque", "cash", "transfer", "card_terminal", "on_site"]


def test_sur_place_is_not_offered_with_a_single_on_site_method(market):
    market.payment_methods = ["cash", "transfer"]
    assert "on_site" not in checkout_choices(market)


def test_online_card_is_never_offered_without_stripe_keys(market, settings):
    settings.STRIPE_SECRET_KEY = ""
    assert "online_card" not in checkout_choices(market)


def test_online_card_is_offered_once_stripe_is_configured(market, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_configured"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_configured"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_configured"
    assert "online_card" in checkout_choices(market)


def test_online_card_needs_the_webhook_secret(market, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_configured"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_configured"
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert "online_card" not in checkout_choices(market)


def test_online_card_needs_both_stripe_keys(market, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_configured"
    settings.STRIPE_PUBLISHABLE_KEY = ""
    assert "online_card" not in checkout_choices(market)


def test_nothing_is_asked_in_cagnotte_mode(market):
    market.cagnotte_mode = True
    assert checkout_choices(market) == []


def test_nothing_is_asked_when_the_market_does_not_manage_payments(market):
    market.payments_enabled = False
    assert checkout_choices(market) == []


# Recording an order, per method


@pytest.mark.parametrize("method", ["cheque", "cash", "transfer", "card_terminal", "on_site"])
def test_an_order_debits_the_client_credits_each_producer_and_expects_a_payment(
    method, market, member, distribution, carrots, honey, farm, beekeeper
):
    order = checkout(member, distribution, {carrots: "2", honey: "1"}, method)

    assert order.total == Decimal("12.40")
    assert order.payment_method == method
    assert held(member) == Decimal("-12.40")
    assert account_balance(sales_account(market, farm)) == Decimal("-5.60")
    assert account_balance(sales_account(market, beekeeper)) == Decimal("-6.80")
    txn = Transaction.objects.get(kind=TransactionKind.ORDER)
    assert txn.order == order
    assert txn.created_by == member.user
    payment = Payment.objects.get()
    assert (payment.method, payment.amount, payment.status) == (
        method,
        Decimal("12.40"),
        PaymentStatus.PENDING,
    )
    assert (payment.reference, payment.order, payment.distribution, payment.membership) == (
        order.reference,
        order,
        distribution,
        member,
    )
    assert payment.transaction is None  # only received money is in the books


def test_paying_from_the_balance_creates_no_payment_and_lowers_the_balance(
    market, member, distribution, carrots, honey
):
    credit(member, "20.00")

    order = checkout(member, distribution, {carrots: "2", honey: "1"}, "cagnotte")

    assert order.payment_method == "cagnotte"
    assert Payment.objects.count() == 0
    assert held(member) == Decimal("7.60")


def test_the_reference_is_the_distribution_date_and_the_basket_number(
    member, distribution, carrots
):
    order = checkout(member, distribution, {carrots: "1"}, "transfer")

    assert order.reference == f"2026-12-04-{order.number:04d}"
    assert REFERENCE.match(order.reference)


def test_basket_numbers_increase_per_market_and_references_are_unique(
    market, distribution, carrots
):
    later = DistributionFactory(market=market, date=datetime.date(2026, 12, 11))
    clients = [MembershipFactory(market=market) for _ in range(3)]

    orders = [
        checkout(clients[0], distribution, {carrots: "1"}, "cheque"),
        checkout(clients[1], distribution, {carrots: "1"}, "cheque"),
        checkout(clients[0], later, {carrots: "1"}, "cheque"),
        checkout(clients[2], later, {carrots: "1"}, "cheque"),
    ]

    assert [o.number for o in orders] == [1, 2, 3, 4]
    assert len({o.reference for o in orders}) == 4


def test_basket_numbers_are_independent_between_markets(
    market, member, distribution, carrots, other_market
):
    other_market.payment_methods = ["cheque"]
    other_market.save()
    other_member = MembershipFactory(market=other_market)
    other_product = ProductFactory(producer=ProducerFactory(market=other_market))
    other_distribution = DistributionFactory(market=other_market)

    checkout(member, distribution, {carrots: "1"}, "cheque")
    checkout(MembershipFactory(market=market), distribution, {carrots: "1"}, "cheque")
    other = checkout(other_member, other_distribution, {other_product: "1"}, "cheque")

    assert other.number == 1


def test_an_order_keeps_its_reference_after_an_addition(member, distribution, carrots, honey):
    order = checkout(member, distribution, {carrots: "1"}, "transfer")
    reference = order.reference

    order = checkout(member, distribution, {carrots: "1", honey: "1"}, "transfer")

    assert order.reference == reference
    assert Payment.objects.order_by("pk").first().reference == reference


def test_each_complement_expects_its_payment_under_a_reference_of_its_own(
    member, distribution, carrots, honey
):
    order = checkout(member, distribution, {carrots: "1"}, "transfer")
    checkout(member, distribution, {carrots: "2"}, "transfer")
    checkout(member, distribution, {carrots: "2", honey: "1"}, "cheque")

    references = list(Payment.objects.order_by("pk").values_list("reference", flat=True))
    assert references == [order.reference, f"{order.reference}-2", f"{order.reference}-3"]


def test_a_cancelled_complement_leaves_its_reference_to_the_next_one(
    member, distribution, carrots, honey
):
    order = checkout(member, distribution, {carrots: "1"}, "transfer")
    checkout(member, distribution, {carrots: "2"}, "transfer")
    payment_cancel(payment=Payment.objects.get(reference=f"{order.reference}-2"), cancelled_by=None)

    checkout(member, distribution, {carrots: "2", honey: "1"}, "transfer")

    standing = Payment.objects.exclude(status=PaymentStatus.CANCELLED).order_by("pk")
    references = list(standing.values_list("reference", flat=True))
    assert references == [order.reference, f"{order.reference}-2"]


def test_the_first_payment_after_an_order_paid_from_the_balance_takes_the_order_s_reference(
    member, distribution, carrots, honey
):
    credit(member, "20.00")
    order = checkout(member, distribution, {carrots: "1"}, "cagnotte")

    checkout(member, distribution, {carrots: "1", honey: "1"}, "transfer")

    assert Payment.objects.get().reference == order.reference


def test_moving_the_distribution_keeps_the_reference_the_client_was_given(
    member, distribution, carrots, honey
):
    order = checkout(member, distribution, {carrots: "1"}, "transfer")
    distribution.date = datetime.date(2026, 12, 11)
    distribution.save()

    order = checkout(member, distribution, {carrots: "1", honey: "1"}, "transfer")

    assert order.reference == f"2026-12-04-{order.number:04d}"
    references = list(Payment.objects.order_by("pk").values_list("reference", flat=True))
    assert references == [order.reference, f"{order.reference}-2"]


def test_the_migration_gives_existing_orders_the_reference_of_their_date_and_number(
    member, distribution, carrots
):
    order = checkout(member, distribution, {carrots: "1"}, "transfer")
    Order.objects.filter(pk=order.pk).update(reference="")
    migration = importlib.import_module("orders.migrations.0005_order_reference")

    migration.fill_references(apps, None)

    order.refresh_from_db()
    assert order.reference == f"2026-12-04-{order.number:04d}"


def test_replaying_a_checkout_with_the_same_token_records_it_once(member, distribution, carrots):
    token = uuid.uuid4().hex

    first = checkout(member, distribution, {carrots: "2"}, "cheque", token=token)
    again = checkout(member, distribution, {carrots: "2"}, "cheque", token=token)

    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert Transaction.objects.count() == 1
    assert Payment.objects.count() == 1
    assert held(member) == Decimal("-5.60")


def test_replaying_a_token_with_a_changed_basket_returns_the_first_order_and_posts_nothing(
    member, distribution, carrots, honey
):
    token = uuid.uuid4().hex
    first = checkout(member, distribution, {carrots: "2"}, "cheque", token=token)

    again = checkout(member, distribution, {carrots: "2", honey: "1"}, "transfer", token=token)

    assert again.pk == first.pk
    assert again.total == Decimal("5.60")
    assert list(again.lines.values_list("product", flat=True)) == [carrots.pk]
    assert Transaction.objects.count() == 1
    assert [(p.method, p.amount) for p in Payment.objects.all()] == [("cheque", Decimal("5.60"))]
    assert held(member) == Decimal("-5.60")


def test_replaying_an_addition_s_token_with_a_bigger_basket_adds_nothing_more(
    member, distribution, carrots, honey
):
    checkout(member, distribution, {carrots: "1"}, "cheque")
    token = uuid.uuid4().hex
    checkout(member, distribution, {carrots: "2"}, "cheque", token=token)

    order = checkout(member, distribution, {carrots: "2", honey: "1"}, "cheque", token=token)

    assert order.total == Decimal("5.60")
    assert Transaction.objects.count() == 2
    assert Payment.objects.count() == 2


def test_a_checkout_is_posted_under_a_key_naming_the_distribution_the_client_and_the_token(
    member, distribution, carrots
):
    token = uuid.uuid4().hex

    order = checkout(member, distribution, {carrots: "2"}, "cheque", token=token)

    txn = Transaction.objects.get()
    assert txn.idempotency_key == f"checkout:{distribution.pk}:{member.pk}:{token}"
    assert txn.order == order


def test_replaying_an_addition_with_the_same_token_adds_once(member, distribution, carrots, honey):
    checkout(member, distribution, {carrots: "1"}, "cheque")
    token = uuid.uuid4().hex

    checkout(member, distribution, {carrots: "1", honey: "1"}, "cheque", token=token)
    order = checkout(member, distribution, {carrots: "1", honey: "1"}, "cheque", token=token)

    assert order.total == Decimal("9.60")
    assert Transaction.objects.count() == 2
    assert Payment.objects.count() == 2


def test_an_empty_basket_is_refused(member, distribution, carrots):
    with pytest.raises(CheckoutError) as refused:
        checkout(member, distribution, {carrots: "0"}, "cheque")

    assert refused.value.message == "Votre panier est vide."
    assert_nothing_recorded()


def test_checking_out_an_unchanged_basket_records_nothing_new(member, distribution, carrots):
    checkout(member, distribution, {carrots: "2"}, "cheque")

    order = checkout(member, distribution, {carrots: "2"}, "transfer")

    assert Transaction.objects.count() == 1
    assert Payment.objects.get().method == "cheque"
    assert order.payment_method == "cheque"


# The cagnotte and its floor


def test_paying_from_the_balance_is_refused_when_it_does_not_cover_the_order(
    market, member, distribution, carrots, honey
):
    market.allow_negative_balances = False
    market.save()
    credit(member, "5.00")

    with pytest.raises(CheckoutError) as refused:
        checkout(member, distribution, {carrots: "2", honey: "1"}, "cagnotte")

    assert refused.value.message == (
        f"Votre solde (5,00{NBSP}€) ne couvre pas cette commande (12,40{NBSP}€) : "
        "créditez votre compte d'abord."
    )
    assert_nothing_recorded()
    assert held(member) == Decimal("5.00")


def test_paying_from_the_balance_may_use_it_all(market, member, distribution, carrots, honey):
    market.allow_negative_balances = False
    market.save()
    credit(member, "12.40")

    checkout(member, distribution, {carrots: "2", honey: "1"}, "cagnotte")

    assert held(member) == Decimal("0.00")


def test_paying_from_the_balance_may_go_negative_when_the_market_allows_it(
    market, member, distribution, carrots, honey
):
    market.allow_negative_balances = True
    market.save()
    credit(member, "5.00")

    checkout(member, distribution, {carrots: "2", honey: "1"}, "cagnotte")

    assert held(member) == Decimal("-7.40")


def test_an_addition_paid_from_the_balance_is_checked_against_the_floor(
    market, member, distribution, carrots, honey
):
    market.allow_negative_balances = False
    market.save()
    credit(member, "10.00")
    checkout(member, distribution, {carrots: "2"}, "cagnotte")

    with pytest.raises(CheckoutError) as refused:
        checkout(member, distribution, {carrots: "2", honey: "1"}, "cagnotte")

    assert refused.value.message == (
        f"Votre solde (4,40{NBSP}€) ne couvre pas cette commande (6,80{NBSP}€) : "
        "créditez votre compte d'abord."
    )
    order = Order.objects.get()
    assert order.total == Decimal("5.60")
    assert list(order.lines.values_list("product", flat=True)) == [carrots.pk]


def test_other_methods_are_not_held_to_the_floor(market, member, distribution, carrots):
    market.allow_negative_balances = False
    market.save()

    checkout(member, distribution, {carrots: "2"}, "cheque")

    assert held(member) == Decimal("-5.60")


# Cagnotte mode, and markets that do not manage payments


def test_in_cagnotte_mode_no_floor_applies_even_without_negative_balances(
    market, member, distribution, carrots
):
    # The admin regularises later: the order goes on the account whatever it holds.
    market.cagnotte_mode = True
    market.allow_negative_balances = False
    market.save()

    checkout(member, distribution, {carrots: "2"}, "")

    assert held(member) == Decimal("-5.60")


def test_in_cagnotte_mode_the_debit_is_posted_without_any_payment(
    market, member, distribution, carrots
):
    market.cagnotte_mode = True
    market.save()

    order = checkout(member, distribution, {carrots: "2"}, "")

    assert order.payment_method == ""
    assert Payment.objects.count() == 0
    assert held(member) == Decimal("-5.60")


def test_in_cagnotte_mode_a_forged_method_is_ignored(market, member, distribution, carrots):
    market.cagnotte_mode = True
    market.save()

    order = checkout(member, distribution, {carrots: "2"}, "transfer")

    assert order.payment_method == ""
    assert Payment.objects.count() == 0


def test_without_payment_management_an_order_creates_no_payment(
    market, member, distribution, carrots
):
    market.payments_enabled = False
    market.save()

    checkout(member, distribution, {carrots: "2"}, "")

    assert Payment.objects.count() == 0
    assert held(member) == Decimal("-5.60")


def test_without_payment_management_a_reduction_posts_the_negative_difference(
    market, member, distribution, carrots, farm
):
    market.payments_enabled = False
    market.save()
    checkout(member, distribution, {carrots: "3"}, "")
    first = Transaction.objects.get()

    order = checkout(member, distribution, {carrots: "1"}, "")

    assert order.total == Decimal("2.80")
    assert held(member) == Decimal("-2.80")
    assert account_balance(sales_account(market, farm)) == Decimal("-2.80")
    change = Transaction.objects.exclude(pk=first.pk).get()
    assert change.label.startswith("Modification de commande panier n° 1")
    assert sorted(change.entries.values_list("amount", flat=True)) == [
        Decimal("-5.60"),
        Decimal("5.60"),
    ]
    assert sorted(first.entries.values_list("amount", flat=True)) == [
        Decimal("-8.40"),
        Decimal("8.40"),
    ]
    assert Payment.objects.count() == 0


def test_without_payment_management_a_line_can_be_removed(
    market, member, distribution, carrots, honey, beekeeper
):
    market.payments_enabled = False
    market.save()
    checkout(member, distribution, {carrots: "1", honey: "1"}, "")

    order = checkout(member, distribution, {carrots: "1"}, "")

    assert order.total == Decimal("2.80")
    assert list(order.lines.values_list("product", flat=True)) == [carrots.pk]
    assert account_balance(sales_account(market, beekeeper)) == Decimal("0.00")
    assert Transaction.objects.count() == 2


# Markets that manage payments: additions only


def test_once_recorded_a_quantity_cannot_be_lowered(member, distribution, carrots):
    checkout(member, distribution, {carrots: "3"}, "cheque")

    with pytest.raises(CheckoutError) as refused:
        checkout(member, distribution, {carrots: "1"}, "cheque")

    assert refused.value.message == (
        "Votre commande est enregistrée : vous pouvez ajouter des produits, "
        "mais pas retirer Carottes ni en diminuer la quantité."
    )
    order = Order.objects.get()
    assert order.total == Decimal("8.40")
    assert order.lines.get().quantity == Decimal("3")
    assert Transaction.objects.count() == 1
    assert Payment.objects.count() == 1


def test_once_recorded_a_line_cannot_be_removed(member, distribution, carrots, honey):
    checkout(member, distribution, {carrots: "1", honey: "1"}, "cheque")

    with pytest.raises(CheckoutError, match="pas retirer Miel"):
        checkout(member, distribution, {carrots: "1"}, "cheque")

    assert Order.objects.get().lines.count() == 2
    assert Transaction.objects.count() == 1


def test_an_addition_posts_the_difference_and_expects_a_payment_of_the_difference(
    member, distribution, carrots, honey
):
    checkout(member, distribution, {carrots: "1"}, "cheque")

    order = checkout(member, distribution, {carrots: "2", honey: "1"}, "transfer")

    assert order.total == Decimal("12.40")
    assert held(member) == Decimal("-12.40")
    complement = Transaction.objects.latest("pk")
    assert complement.label.startswith("Complément de commande panier n° 1")
    assert complement.entries.get(amount__gt=0).amount == Decimal("9.60")
    payments = Payment.objects.order_by("pk")
    assert [(p.method, p.amount, p.status) for p in payments] == [
        ("cheque", Decimal("2.80"), PaymentStatus.PENDING),
        ("transfer", Decimal("9.60"), PaymentStatus.PENDING),
    ]


def test_an_ordered_line_keeps_its_price_when_the_product_price_changes(
    member, distribution, carrots, honey
):
    checkout(member, distribution, {carrots: "1"}, "cheque")
    carrots.unit_price = Decimal("3.00")
    carrots.save()

    order = checkout(member, distribution, {carrots: "2", honey: "1"}, "cheque")

    assert order.lines.get(product=carrots).unit_price == Decimal("2.80")
    assert order.total == Decimal("12.40")
    assert Payment.objects.latest("pk").amount == Decimal("9.60")


# Refusals


def test_a_distribution_closed_by_hand_refuses_orders(member, distribution, carrots):
    distribution.status = DistributionStatus.CLOSED
    distribution.save()

    with pytest.raises(CheckoutError) as refused:
        checkout(member, distribution, {carrots: "1"}, "cheque")

    assert refused.value.message == "Les commandes sont closes pour cette distribution."
    assert_nothing_recorded()


def test_a_distribution_past_its_closing_time_refuses_orders(member, market, carrots):
    now = timezone.now()
    past = DistributionFactory(
        market=market,
        orders_open_at=now - datetime.timedelta(days=5),
        orders_close_at=now - datetime.timedelta(minutes=1),
    )

    with pytest.raises(CheckoutError, match="Les commandes sont closes"):
        checkout(member, past, {carrots: "1"}, "cheque")

    assert_nothing_recorded()


def test_a_distribution_of_another_market_refuses_the_order(member, carrots, other_market):
    elsewhere = DistributionFactory(market=other_market)

    with pytest.raises(CheckoutError):
        checkout(member, elsewhere, {carrots: "1"}, "cheque")

    assert_nothing_recorded()


@pytest.mark.parametrize("choice", ["", "bitcoin", "online_card", "on_site"])
def test_a_method_the_market_does_not_offer_is_refused(
    choice, market, member, distribution, carrots
):
    market.payment_methods = ["cheque", "transfer"]  # one on-site method: no « sur place »
    market.save()

    with pytest.raises(CheckoutError) as refused:
        checkout(member, distribution, {carrots: "1"}, choice)

    assert refused.value.message == "Choisissez un des moyens de paiement proposés par le marché."
    assert_nothing_recorded()


def test_the_cagnotte_is_refused_when_the_market_does_not_offer_it(
    market, member, distribution, carrots
):
    market.payment_methods = ["cheque"]
    market.save()

    with pytest.raises(CheckoutError):
        checkout(member, distribution, {carrots: "1"}, "cagnotte")

    assert_nothing_recorded()


# Reading what the client typed


def test_a_zero_quantity_means_none_of_that_product(market, carrots, honey):
    lines = basket_read(market, {str(carrots.pk): "0", str(honey.pk): "2"})

    assert [(line.product, line.quantity) for line in lines] == [(honey, Decimal("2"))]


def test_an_empty_quantity_means_none_of_that_product(market, carrots):
    assert basket_read(market, {str(carrots.pk): "  "}) == []


def test_a_decimal_comma_is_read_for_products_sold_by_weight(market, carrots):
    (line,) = basket_read(market, {str(carrots.pk): "1,5"})

    assert line.quantity == Decimal("1.5")
    assert line.amount == Decimal("4.20")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-1", "La quantité de Carottes ne peut pas être négative."),
        ("1000", "Carottes : 999 au plus par commande."),
        ("1e9", "« 1e9 » n'est pas une quantité valable pour Carottes."),
        ("9" * 40, "Carottes : 999 au plus par commande."),
        ("1,2345", "Carottes : trois décimales au plus."),
        ("deux", "« deux » n'est pas une quantité valable pour Carottes."),
    ],
)
def test_a_quantity_that_makes_no_sense_is_refused(typed, message, market, carrots):
    with pytest.raises(CheckoutError) as refused:
        basket_read(market, {str(carrots.pk): typed})

    assert refused.value.message == message


@pytest.mark.parametrize("typed", ["NaN", "Infinity", "-Infinity", "sNaN", "-nan", "inf"])
def test_a_quantity_that_is_not_a_number_is_refused_as_such(typed, market, carrots):
    with pytest.raises(CheckoutError) as refused:
        basket_read(market, {str(carrots.pk): typed})

    assert refused.value.message == f"« {typed} » n'est pas une quantité valable pour Carottes."


@pytest.mark.parametrize("typed", ["0,0000", "0.00000", "-0", ",0"])
def test_zero_written_with_many_decimals_still_means_none_of_that_product(typed, market, carrots):
    assert basket_read(market, {str(carrots.pk): typed}) == []


def test_trailing_zeros_are_not_counted_as_decimals(market, carrots):
    (line,) = basket_read(market, {str(carrots.pk): "1,5000"})

    assert line.quantity == Decimal("1.5")


# Lines worth nothing


@pytest.fixture
def leeks(farm):
    return ProductFactory(producer=farm, name="Poireaux", unit=Unit.KG, unit_price=Decimal("2.10"))


def test_a_quantity_too_small_to_cost_a_cent_is_refused(market, leeks):
    with pytest.raises(CheckoutError) as refused:
        basket_read(market, {str(leeks.pk): "0,001"})

    assert refused.value.message == (
        f"Quantité trop petite : 0,001 kg de Poireaux reviendrait à 0,00{NBSP}€."
    )


def test_the_smallest_quantity_costing_a_cent_is_accepted(market, leeks):
    (line,) = basket_read(market, {str(leeks.pk): "0,003"})

    assert line.amount == Decimal("0.01")


def test_a_line_worth_nothing_is_never_recorded_even_when_sent_straight_to_checkout(
    member, distribution, leeks
):
    with pytest.raises(CheckoutError, match="Quantité trop petite"):
        order_checkout(
            membership=member,
            distribution=distribution,
            lines=[BasketLine(leeks, Decimal("0.001"))],
            choice="cheque",
            token=uuid.uuid4().hex,
        )

    assert_nothing_recorded()


def test_a_line_worth_nothing_is_not_added_to_a_recorded_order(
    member, distribution, carrots, leeks
):
    checkout(member, distribution, {carrots: "1"}, "cheque")

    with pytest.raises(CheckoutError, match="Quantité trop petite"):
        order_checkout(
            membership=member,
            distribution=distribution,
            lines=[BasketLine(carrots, Decimal("1")), BasketLine(leeks, Decimal("0.002"))],
            choice="cheque",
            token=uuid.uuid4().hex,
        )

    assert list(Order.objects.get().lines.values_list("product", flat=True)) == [carrots.pk]


def test_a_product_sold_by_the_piece_needs_a_whole_number(market, honey):
    with pytest.raises(CheckoutError) as refused:
        basket_read(market, {str(honey.pk): "1,5"})

    assert refused.value.message == "Miel se commande à l'unité : indiquez un nombre entier."


def test_a_product_of_another_market_is_refused(market, other_market):
    elsewhere = ProductFactory(producer=ProducerFactory(market=other_market))

    with pytest.raises(CheckoutError) as refused:
        basket_read(market, {str(elsewhere.pk): "1"})

    assert refused.value.message == "Un des produits demandés n'est pas proposé par ce marché."


def test_a_product_no_longer_on_sale_is_refused(market, carrots):
    carrots.active = False
    carrots.save()

    with pytest.raises(CheckoutError):
        basket_read(market, {str(carrots.pk): "1"})


@pytest.mark.parametrize("key", ["abc", "", "1.5", "99999999999999999999999", "-3"])
def test_a_product_id_that_is_not_one_is_refused(key, market, carrots):
    with pytest.raises(CheckoutError):
        basket_read(market, {key: "1"})


# The books stay sound


def test_the_ledger_stays_balanced_after_a_sequence_of_orders(market, distribution, carrots, honey):
    alice, bob, chloe = (MembershipFactory(market=market) for _ in range(3))
    credit(bob, "30.00")
    checkout(alice, distribution, {carrots: "1,5", honey: "1"}, "transfer")
    checkout(bob, distribution, {honey: "2"}, "cagnotte")
    checkout(chloe, distribution, {carrots: "0,75"}, "on_site")
    checkout(alice, distribution, {carrots: "2", honey: "3"}, "cheque")
    checkout(bob, distribution, {honey: "3"}, "cagnotte")

    assert_ledger_clean()
    orders_total = sum(Order.objects.values_list("total", flat=True), Decimal("0.00"))
    sales = sum(
        (account_balance(sales_account(market, p)) for p in (carrots.producer, honey.producer)),
        Decimal("0.00"),
    )
    assert sales == -orders_total
    assert held(bob) == Decimal("9.60")


def test_another_market_keeps_its_own_basket_numbers_and_books(
    market, member, distribution, carrots
):
    other = MarketFactory(slug="bagnolet", payment_methods=["cash"])
    other_member = MembershipFactory(market=other)
    other_product = ProductFactory(producer=ProducerFactory(market=other))

    checkout(member, distribution, {carrots: "1"}, "cheque")
    checkout(other_member, DistributionFactory(market=other), {other_product: "1"}, "cash")

    assert Transaction.objects.filter(market=other).count() == 1
    assert_ledger_clean()

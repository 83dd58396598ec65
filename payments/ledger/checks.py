"""The audit of the books that ``manage.py check_ledger [--market SLUG]`` runs.

Verifies, over every market (or one), that:

* every transaction balances (its entries sum to zero) and has at least two
  entries (invariant 1);
* no entry is zero and no amount has more than 2 decimal places (invariant 3);
* every account's cached ``balance`` equals the sum of its entries (invariant 4);
* every entry's account belongs to its transaction's market;
* every client account is in its membership's market (a membership moved to
  another market leaves its account behind, and every posting then fails);
* every reversal mirrors its original exactly: the same accounts, the
  opposite amounts, as many entries, and one reversal per original;
* every payment with a posting agrees with it: the payment's amount credited
  to its client's account and debited to its method's money account, in two
  entries;
* every order's total equals what its postings debited to its client: the
  order, its adjustments, and any reversal of those;
* every online session's refunded total is covered by its refunds marked
  posted (refunds posted as a running total before payments migration 0010
  have no rows of their own until ``manage.py stripe_refunds_adopt`` runs).

On PostgreSQL the database refuses most of this by itself; this command is the
independent audit that shows it still does (after a restore, a hand-written
SQL fix, a trigger dropped by hand). Each
check is one aggregate query (GROUP BY / HAVING), so it stays cheap on
millions of entries. Exits non-zero on any drift, so a scheduler reports it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.management.base import CommandError
from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round

from accounts.models import Market
from cagette.money import ZERO

from ..models import (
    METHOD_ACCOUNT,
    MONEY,
    Account,
    Entry,
    Payment,
    RefundStatus,
    StripeCheckout,
    StripeRefund,
    Transaction,
    TransactionKind,
)
from .accounts import with_balance

# The model orders are posted for, without importing the orders app (which
# depends on this one): the ledger's own link to it.
Order = Transaction._meta.get_field("order").related_model


@dataclass(frozen=True)
class Scope:
    markets: QuerySet
    transactions: QuerySet
    entries: QuerySet
    accounts: QuerySet
    payments: QuerySet
    orders: QuerySet


def scope_of(slug: str | None) -> Scope:
    if not slug:
        return Scope(
            Market.objects.all(),
            Transaction.objects.all(),
            Entry.objects.all(),
            Account.objects.all(),
            Payment.objects.all(),
            Order.objects.all(),
        )
    market = Market.objects.filter(slug=slug).first()
    if market is None:
        raise CommandError(f"No market with slug {slug!r}.")
    return Scope(
        markets=Market.objects.filter(pk=market.pk),
        transactions=Transaction.objects.filter(market=market),
        # Entries on either side of the market's books, so that an entry of
        # another market's transaction hitting one of its accounts is found.
        entries=Entry.objects.filter(Q(transaction__market=market) | Q(account__market=market)),
        accounts=Account.objects.filter(market=market),
        payments=Payment.objects.filter(market=market),
        orders=Order.objects.filter(market=market),
    )


def _entries_total():
    """The sum of the entries as money, 0.00 when there are none."""
    money = DecimalField(**MONEY)
    return Coalesce(Sum("entries__amount"), Value(ZERO), output_field=money)


def _cents(amount: Decimal) -> Decimal:
    # For display: always two decimal places.
    return amount.quantize(Decimal("0.01"))


def _unbalanced_transactions(scope: Scope) -> QuerySet:
    return (
        scope.transactions.annotate(total=_entries_total(), entry_count=Count("entries"))
        .filter(Q(entry_count__lt=2) | ~Q(total=0))
        .values("pk", "market__slug", "total", "entry_count")
    )


def _describe_transaction(row: dict) -> str:
    return (
        f"Transaction #{row['pk']} ({row['market__slug']}) does not balance: "
        f"entries: {row['entry_count']}, sum: {_cents(row['total'])} "
        "(needs 2 or more, summing to 0)."
    )


def _malformed_entries(scope: Scope) -> QuerySet:
    return scope.entries.filter(Q(amount=0) | ~Q(amount=Round("amount", 2))).values(
        "pk", "transaction_id", "account_id"
    )


def _describe_entry(row: dict) -> str:
    return (
        f"Entry #{row['pk']} (transaction #{row['transaction_id']}, account "
        f"#{row['account_id']}) is zero or has more than 2 decimal places."
    )


def _drifted_accounts(scope: Scope) -> QuerySet:
    return (
        with_balance(scope.accounts)
        .annotate(total=_entries_total())
        .annotate(drift=F("cached_balance") - F("total"))
        .filter(~Q(drift=0))
        .values("pk", "name", "market__slug", "cached_balance", "total")
    )


def _describe_account(row: dict) -> str:
    return (
        f"Account #{row['pk']} « {row['name']} » ({row['market__slug']}): cached balance "
        f"{row['cached_balance']}, entries sum to {_cents(row['total'])}."
    )


def _cross_market_entries(scope: Scope) -> QuerySet:
    return scope.entries.exclude(account__market_id=F("transaction__market_id")).values(
        "pk", "transaction_id", "transaction__market__slug", "account_id", "account__market__slug"
    )


def _describe_cross_market(row: dict) -> str:
    return (
        f"Entry #{row['pk']} of transaction #{row['transaction_id']} "
        f"({row['transaction__market__slug']}) posts to account #{row['account_id']} "
        f"of another market ({row['account__market__slug']})."
    )


def _misplaced_client_accounts(scope: Scope) -> QuerySet:
    return (
        scope.accounts.filter(membership__isnull=False)
        .exclude(market_id=F("membership__market_id"))
        .values("pk", "name", "market__slug", "membership_id", "membership__market__slug")
    )


def _describe_misplaced(row: dict) -> str:
    return (
        f"Client account #{row['pk']} « {row['name']} » is in market {row['market__slug']}, "
        f"but its membership #{row['membership_id']} is in {row['membership__market__slug']}."
    )


# -- Postings against what they record ---------------------------------------------

_IS_REVERSAL = Q(transaction__reverses__isnull=False)


def _reversal_pairs(scope: Scope) -> QuerySet:
    """Entries of every reversal and of every reversed transaction, each with
    ``original``: the reversed transaction's id."""
    return (
        scope.entries.filter(_IS_REVERSAL | Q(transaction__reversal__isnull=False))
        .annotate(
            original=Case(
                When(_IS_REVERSAL, then=F("transaction__reverses_id")), default="transaction_id"
            )
        )
        .order_by()
    )


def _unmirrored_accounts(scope: Scope) -> QuerySet:
    return (
        _reversal_pairs(scope)
        .values("original", "account_id")
        .annotate(net=Sum("amount"), reversal=Max("transaction_id", filter=_IS_REVERSAL))
        .filter(~Q(net=0))
        .order_by("original", "account_id")
    )


def _describe_unmirrored_account(row: dict) -> str:
    return (
        f"Reversal #{row['reversal']} does not mirror transaction #{row['original']}: "
        f"on account #{row['account_id']} the two sum to {_cents(row['net'])}, not 0."
    )


def _unmirrored_counts(scope: Scope) -> QuerySet:
    return (
        _reversal_pairs(scope)
        .values("original")
        .annotate(
            reversals=Count("transaction_id", filter=_IS_REVERSAL, distinct=True),
            reversal=Max("transaction_id", filter=_IS_REVERSAL),
            reversed_entries=Count("pk", filter=_IS_REVERSAL),
            original_entries=Count("pk", filter=~_IS_REVERSAL),
        )
        .filter(~Q(reversals=1) | ~Q(reversed_entries=F("original_entries")))
        .order_by("original")
    )


def _describe_unmirrored_count(row: dict) -> str:
    return (
        f"Transaction #{row['original']} has {row['reversals']} reversal(s) "
        f"(#{row['reversal']}) with {row['reversed_entries']} entries for its "
        f"{row['original_entries']} (needs one reversal, entry for entry)."
    )


def _posted_sum(**where) -> Coalesce:
    """The sum of the entries of the outer payment's transaction matching ``where``."""
    entries = (
        Entry.objects.filter(transaction_id=OuterRef("transaction_id"), **where)
        .order_by()
        .values("transaction_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(**MONEY)
    return Coalesce(Subquery(entries), Value(ZERO), output_field=money)


def _payments_unlike_postings(scope: Scope) -> QuerySet:
    money_kind = Case(*(When(method=m, then=Value(str(k))) for m, k in METHOD_ACCOUNT.items()))
    count = Entry.objects.filter(transaction_id=OuterRef("transaction_id")).order_by()
    count = count.values("transaction_id").annotate(n=Count("pk")).values("n")
    return (
        scope.payments.filter(transaction__isnull=False)
        .annotate(money_kind=money_kind)
        .annotate(
            credited=_posted_sum(account__membership_id=OuterRef("membership_id")),
            debited=_posted_sum(account__kind=OuterRef("money_kind")),
            entry_count=Subquery(count),
        )
        .filter(~Q(credited=-F("amount")) | ~Q(debited=F("amount")) | ~Q(entry_count=2))
        .values("pk", "transaction_id", "method", "amount", "credited", "debited", "entry_count")
    )


def _describe_payment(row: dict) -> str:
    return (
        f"Payment #{row['pk']} ({row['method']}, {row['amount']}) disagrees with its "
        f"transaction #{row['transaction_id']}: client credited {_cents(-row['credited'])}, "
        f"money account debited {_cents(row['debited'])}, {row['entry_count']} entries."
    )


_ORDER_KINDS = [TransactionKind.ORDER, TransactionKind.ORDER_ADJUSTMENT]


def _orders_unlike_postings(scope: Scope) -> QuerySet:
    debits = (
        Entry.objects.filter(
            transaction__order_id=OuterRef("pk"), account__membership_id=OuterRef("membership_id")
        )
        .filter(
            Q(transaction__kind__in=_ORDER_KINDS) | Q(transaction__reverses__kind__in=_ORDER_KINDS)
        )
        .order_by()
        .values("transaction__order_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(**MONEY)
    return (
        scope.orders.annotate(posted=Coalesce(Subquery(debits), Value(ZERO), output_field=money))
        .filter(~Q(posted=F("total")))
        .values("pk", "number", "market__slug", "total", "posted")
    )


def _describe_order(row: dict) -> str:
    return (
        f"Order #{row['pk']} (basket {row['number']}, {row['market__slug']}) totals "
        f"{row['total']}, but its postings debit its client {_cents(row['posted'])}."
    )


# -- Online refunds against their rows ----------------------------------------------

ADOPT_COMMAND = "manage.py stripe_refunds_adopt"


def refunds_without_rows(checkouts: QuerySet) -> QuerySet:
    """The sessions of ``checkouts`` whose refunded total is more than their refunds
    marked posted (``rows_posted``, refunds that failed afterwards left out).

    Since payments migration 0010 a refund is posted on its own and its row marked
    posted, so the two agree. Before, refunds were posted as the growth of the
    charge's running total (keys ``stripe-refund:<charge>:<total cents>``): a
    refund made in Stripe's dashboard, or one the old code took as failed, is in
    the ledger without a row marked posted until `ADOPT_COMMAND` gives it one.
    """
    rows = (
        StripeRefund.objects.filter(checkout_id=OuterRef("pk"), posted=True)
        .exclude(status=RefundStatus.FAILED)
        .order_by()
        .values("checkout_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(**MONEY)
    posted = Coalesce(Subquery(rows), Value(ZERO), output_field=money)
    refunded = checkouts.filter(refunded__gt=0)  # the few refunded sessions need the sum
    return refunded.annotate(rows_posted=posted).filter(refunded__gt=F("rows_posted"))


def _unadopted_refunds(scope: Scope) -> QuerySet:
    sessions = StripeCheckout.objects.filter(received_payment__in=scope.payments)
    return refunds_without_rows(sessions).values(
        "pk", "session_id", "received_payment__market__slug", "refunded", "rows_posted"
    )


def _describe_unadopted(row: dict) -> str:
    return (
        f"Online session {row['session_id']} ({row['received_payment__market__slug']}) "
        f"has {row['refunded']} refunded, but its refunds marked posted total "
        f"{_cents(row['rows_posted'])}: refunds posted as a running total before payments "
        f"migration 0010 are not adopted; run `{ADOPT_COMMAND}` once (its refunds are "
        "refused meanwhile)."
    )


CHECKS: list[tuple[Callable[[Scope], QuerySet], Callable[[dict], str]]] = [
    (_unbalanced_transactions, _describe_transaction),
    (_malformed_entries, _describe_entry),
    (_drifted_accounts, _describe_account),
    (_cross_market_entries, _describe_cross_market),
    (_misplaced_client_accounts, _describe_misplaced),
    (_unmirrored_accounts, _describe_unmirrored_account),
    (_unmirrored_counts, _describe_unmirrored_count),
    (_payments_unlike_postings, _describe_payment),
    (_orders_unlike_postings, _describe_order),
    (_unadopted_refunds, _describe_unadopted),
]

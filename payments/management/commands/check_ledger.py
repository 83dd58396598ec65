"""``manage.py check_ledger [--market SLUG]``: audit the books.

Verifies, over every market (or one), that:

* every transaction balances (its entries sum to zero) and has at least two
  entries (invariant 1);
* no entry is zero and no amount has more than 2 decimal places (invariant 3);
* every account's cached ``balance`` equals the sum of its entries (invariant 4);
* every entry's account belongs to its transaction's market;
* every client account is in its membership's market (a membership moved to
  another market leaves its account behind, and every posting then fails).

On PostgreSQL the database refuses most of this by itself; this command is the
independent audit that shows it still does (after a restore, a hand-written
SQL fix, or on SQLite, where only the posting service guards the rules). Each
check is one aggregate query (GROUP BY / HAVING), so it stays cheap on
millions of entries. Exits non-zero on any drift, so a scheduler reports it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Round

from accounts.models import Market
from payments.models import MONEY, Account, Entry, Transaction


@dataclass(frozen=True)
class Scope:
    markets: QuerySet
    transactions: QuerySet
    entries: QuerySet
    accounts: QuerySet


def _scope(slug: str | None) -> Scope:
    if not slug:
        return Scope(
            Market.objects.all(),
            Transaction.objects.all(),
            Entry.objects.all(),
            Account.objects.all(),
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
    )


# Sums are rounded to the cent before being compared: SQLite stores decimals
# as floating point, where 0.10 + 0.20 - 0.30 is not exactly zero. On
# PostgreSQL (numeric(14, 2)) the rounding changes nothing.


def _entries_total():
    """The sum of the entries as money, 0.00 when there are none."""
    money = DecimalField(**MONEY)
    return Coalesce(Sum("entries__amount"), Value(Decimal("0.00")), output_field=money)


def _cents(amount: Decimal) -> Decimal:
    # For display: SQLite returns computed sums unrounded (-7.5, 0.0100000000000000).
    return amount.quantize(Decimal("0.01"))


def _unbalanced_transactions(scope: Scope) -> QuerySet:
    return (
        scope.transactions.annotate(total=Round(_entries_total(), 2), entry_count=Count("entries"))
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
        scope.accounts.annotate(total=_entries_total())
        .annotate(drift=Round(F("balance") - F("total"), 2))
        .filter(~Q(drift=0))
        .values("pk", "name", "market__slug", "balance", "total")
    )


def _describe_account(row: dict) -> str:
    return (
        f"Account #{row['pk']} « {row['name']} » ({row['market__slug']}): cached balance "
        f"{row['balance']}, entries sum to {_cents(row['total'])}."
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


CHECKS: list[tuple[Callable[[Scope], QuerySet], Callable[[dict], str]]] = [
    (_unbalanced_transactions, _describe_transaction),
    (_malformed_entries, _describe_entry),
    (_drifted_accounts, _describe_account),
    (_cross_market_entries, _describe_cross_market),
    (_misplaced_client_accounts, _describe_misplaced),
]


class Command(BaseCommand):
    help = "Verify that the ledger balances and that cached balances match their entries."

    def add_arguments(self, parser):
        parser.add_argument("--market", metavar="SLUG", help="check this market only")
        parser.add_argument(
            "--limit", type=int, default=20, help="problems listed per check (default 20)"
        )

    def handle(self, *args, market=None, limit=20, **options):
        if limit < 0:
            raise CommandError("--limit cannot be negative.")
        scope = _scope(market)
        counts = self._counts(scope)
        self.stdout.write(f"Checking {counts}.")
        problems = sum(self._report(find(scope), describe, limit) for find, describe in CHECKS)
        if problems:
            raise CommandError(f"Ledger drift: {problems} problem(s) found.")
        self.stdout.write(self.style.SUCCESS(f"Ledger OK: {counts}."))

    def _counts(self, scope: Scope) -> str:
        return (
            f"{scope.markets.count()} markets, {scope.transactions.count()} transactions, "
            f"{scope.entries.count()} entries, {scope.accounts.count()} accounts"
        )

    def _report(self, problems: QuerySet, describe: Callable[[dict], str], limit: int) -> int:
        """Print up to ``limit`` problems; return how many there are in all."""
        # Count first: on a healthy ledger that is the only query, and without
        # a LIMIT PostgreSQL plans it as one pass of hash joins rather than a
        # million index lookups in the hope of finding the first rows early.
        total = problems.count()
        if total:
            for row in problems.order_by("pk")[:limit]:
                self.stdout.write(self.style.ERROR(describe(row)))
        if total > limit:
            self.stdout.write(self.style.ERROR(f"… and {total - limit} more like this."))
        return total

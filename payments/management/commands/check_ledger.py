"""``manage.py check_ledger [--market SLUG]``: audit the books (`payments.ledger.checks`).

Exits non-zero on any drift, so a scheduler reports it.
"""

from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet

from payments.ledger.checks import CHECKS, Scope, scope_of


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
        scope = scope_of(market)
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
            # Grouped checks order by what they group on (ordering by pk would
            # group by it too).
            rows = problems if problems.query.order_by else problems.order_by("pk")
            for row in rows[:limit]:
                self.stdout.write(self.style.ERROR(describe(row)))
        if total > limit:
            self.stdout.write(self.style.ERROR(f"… and {total - limit} more like this."))
        return total

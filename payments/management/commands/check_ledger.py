"""``manage.py check_ledger [--market SLUG]``: audit the books (`payments.ledger.checks`).

Exits non-zero on any drift. The job queue runs the same audit every night
(`payments.ledger.check_runs`) and keeps its outcome.
"""

from django.core.management.base import BaseCommand, CommandError

from payments.ledger.check_runs import ledger_problems
from payments.ledger.checks import Scope, scope_of


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
        problems, lines = ledger_problems(scope, limit)
        for line in lines:
            self.stdout.write(self.style.ERROR(line))
        if problems:
            raise CommandError(f"Ledger drift: {problems} problem(s) found.")
        self.stdout.write(self.style.SUCCESS(f"Ledger OK: {counts}."))

    def _counts(self, scope: Scope) -> str:
        return (
            f"{scope.markets.count()} markets, {scope.transactions.count()} transactions, "
            f"{scope.entries.count()} entries, {scope.accounts.count()} accounts"
        )

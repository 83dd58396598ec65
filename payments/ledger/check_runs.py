"""The nightly audit of the books, and the alarm it raises when the books drift.

`ledger_problems` runs the checks of `checks` and describes what drifted (the
``check_ledger`` command prints the same lines); `ledger_check_run`, run by a
periodic job at night (`payments.tasks`), stores the outcome as a
`LedgerCheckRun` and logs any drift at ERROR; `ledger_alarm`, a context
processor, shows superusers, on every page, the latest run while it found
anomalies (or broke off).
"""

import logging
from collections.abc import Iterator
from datetime import datetime

from django.utils import timezone

from ..models import LedgerCheckRun
from .checks import CHECKS, Scope, scope_of

logger = logging.getLogger(__name__)

LISTED_PER_CHECK = 20


def ledger_problems(scope: Scope, limit: int = LISTED_PER_CHECK) -> tuple[int, list[str]]:
    """How many problems there are in all, and up to ``limit`` per check described."""
    total, lines = 0, []
    for find, describe in CHECKS:
        problems = find(scope)
        # Count first: on a healthy ledger that is the only query, and without
        # a LIMIT PostgreSQL plans it as one pass of hash joins rather than a
        # million index lookups in the hope of finding the first rows early.
        count = problems.count()
        total += count
        lines.extend(_described(problems, describe, count, limit))
    return total, lines


def _described(problems, describe, count: int, limit: int) -> Iterator[str]:
    if not count:
        return
    # Grouped checks order by what they group on (ordering by pk would group by it too).
    rows = problems if problems.query.order_by else problems.order_by("pk")
    for row in rows[:limit]:
        yield describe(row)
    if count > limit:
        yield f"… and {count - limit} more like this."


def ledger_check_run(*, scheduled_for: datetime | None = None) -> LedgerCheckRun:
    """Audit every market's books now, and keep the outcome."""
    run = LedgerCheckRun.objects.create(scheduled_for=scheduled_for)
    try:
        run.problem_count, lines = ledger_problems(scope_of(None))
    except Exception as error:
        logger.exception("Ledger check %s broke off", run.pk)
        run.problems = f"{type(error).__name__}: {error}"
        _finish(run)
        raise
    run.ok, run.problems = run.problem_count == 0, "\n".join(lines)
    _finish(run)
    if not run.ok:
        logger.error(
            "Ledger check %s: %s problem(s) found\n%s", run.pk, run.problem_count, run.problems
        )
    return run


def _finish(run: LedgerCheckRun) -> None:
    run.finished_at = timezone.now()
    run.save(update_fields=["finished_at", "ok", "problem_count", "problems"])


def ledger_alarm(request) -> dict:
    """Context processor: ``ledger_alarm``, the latest run, for a superuser while it failed."""
    user = getattr(request, "user", None)
    if user is None or not user.is_superuser:
        return {}
    latest = LedgerCheckRun.objects.filter(finished_at__isnull=False).first()
    return {"ledger_alarm": latest} if latest is not None and not latest.ok else {}

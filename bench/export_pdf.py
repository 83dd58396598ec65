"""Benchmark the « Solde des clients » PDF job: time and peak memory at 2 000 clients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cagette_bench \\
        .venv/bin/python bench/export_pdf.py [--clients 2000]

PostgreSQL, migrated. The market and its clients are written in one
transaction that is rolled back at the end: the database is left as it was.
The job runs in this process as a worker runs it (`export_build`), and its
file goes to a temporary MEDIA_ROOT. Printed: the time of the job, the
process's peak memory (resident set) before and after it, the pages, and how
many times the job wrote its progress.

Measured on 2 cores shared with other work (times vary with the load):

    clients=2000 pages=49  time=11.6 s peak_rss_after=263 MB  (one layout)
    clients=2100 pages=55  time=33.8 s peak_rss_after=202 MB  (in parts, laid out twice)
    clients=6000 pages=156 time=94.3 s peak_rss_after=322 MB  (in parts; one layout: 77 s, 598 MB)
"""

import argparse
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cagette.settings")
os.environ.setdefault("DEBUG", "0")  # with it on, Django keeps every query
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="cagette-bench-media-"))

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import transaction  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from accounts.models import Market, Membership, Role, User  # noqa: E402
from payments.exports import services  # noqa: E402
from payments.exports.balances import balances_pdf  # noqa: E402
from payments.models import Account, AccountKind, Export  # noqa: E402
from payments.services import membership_create  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def market_with_clients(count: int) -> tuple[Market, User]:
    market = Market.objects.create(slug="bench-export", name="Bench · export PDF")
    treasurer = User.objects.create(email="tresorier@bench.invalid", first_name="Trésorier")
    membership_create(user=treasurer, market=market, role=Role.TREASURER)
    password = make_password(None)
    users = User.objects.bulk_create(
        User(
            email=f"c{i:05d}@bench.invalid",
            first_name="Client",
            last_name=f"N{i:05d}",
            password=password,
        )
        for i in range(count)
    )
    memberships = Membership.objects.bulk_create(
        Membership(user=user, market=market, role=Role.CLIENT) for user in users
    )
    Account.objects.bulk_create(
        Account(market=market, kind=AccountKind.CLIENT, membership=m, name=m.user.display_name)
        for m in memberships
    )
    return market, treasurer


class Counted(services.Progress):
    writes = 0

    def __call__(self, percent):
        before = self.shown
        super().__call__(percent)
        Counted.writes += self.shown != before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    args = parser.parse_args()
    with transaction.atomic():
        market, treasurer = market_with_clients(args.clients)
        export = Export.objects.create(market=market, requested_by=treasurer, kind="balances")
        services.Progress = Counted
        before = peak_mb()
        started = time.perf_counter()
        services.export_build(export.pk, balances_pdf)
        elapsed = time.perf_counter() - started
        export.refresh_from_db()
        pages = len(PdfReader(io.BytesIO(export.file.read())).pages)
        export.file.delete(save=False)
        transaction.set_rollback(True)
    print(
        f"clients={args.clients} pages={pages} time={elapsed:.1f} s "
        f"peak_rss_before={before:.0f} MB peak_rss_after={peak_mb():.0f} MB "
        f"progress_writes={Counted.writes} status={export.status}"
    )


if __name__ == "__main__":
    main()

"""Benchmark « Solde des clients »: 10 000 clients and 1 000 000 entries vs 100 clients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cagette_bench \\
        .venv/bin/python bench/balance_page.py [--rebuild] [--runs 15] [--warmups 2]

PostgreSQL only, in a database of its own (its name must contain "bench"):
the first run builds a market « bench-large » of 10 000 clients whose ledger
holds 1 000 000 entries, and « bench-small » of 100 clients with a few entries
each; later runs reuse them (``--rebuild`` empties the database and starts
over). Then the page is rendered for each market through the Django test
client, as the market's treasurer, and the median time and query count are
printed. The page reads cached balances, never entries, so the large market
should cost about the same as the small one: the last line gives the ratio.
"""

import argparse
import gc
import os
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cagette.settings")
# Timed as in production: DEBUG off (with it on, Django keeps every query).
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")

import django  # noqa: E402

django.setup()

# WhiteNoise warns that collectstatic has not run; static files are not what is measured.
warnings.filterwarnings("ignore", message="No directory at")

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.models import Market, Membership, Role, User  # noqa: E402
from payments.ledger import market_account, sales_account  # noqa: E402
from payments.models import Account, AccountKind  # noqa: E402
from payments.services import membership_create  # noqa: E402

LARGE = {"slug": "bench-large", "name": "Bench · grand marché", "clients": 10_000, "rounds": 50}
SMALL = {"slug": "bench-small", "name": "Bench · petit marché", "clients": 100, "rounds": 6}
# Each round is one transaction of two entries per client: 10 000 × 50 × 2 = 1 000 000 entries.

FIRST_NAMES = (
    "Marie Jean Zoé Élodie Paul Léa Hugo Chloé Louis Inès Gabriel Émile Anaïs Noé Jade Lucas "
    "Manon Théo Camille Arthur Agathe Raphaël Juliette Mathis Célia Benoît Hélène Joël Maëlle"
).split()
LAST_NAMES = (
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefèvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefebvre "
    "Mercier Dupont Lambert Bonnet François Martinez Légaré Côté Éluard Œillet"
).split()

INSERT_TRANSACTIONS = """
INSERT INTO payments_transaction (market_id, kind, label, date, created_at, created_by_id, reason)
SELECT %(market)s,
       CASE WHEN (g / %(clients)s) %% 2 = 0 THEN 'order' ELSE 'payment' END,
       CASE WHEN (g / %(clients)s) %% 2 = 0 THEN 'Commande' ELSE 'Paiement' END,
       DATE '2025-01-07' + (g / %(clients)s) * 7,
       now(), %(posted_by)s, ''
FROM generate_series(0, %(count)s - 1) AS g
ORDER BY g
"""

# Transaction g is client g % n's round g / n: even rounds are orders (client
# debited, sales credited), odd rounds payments (cash debited, client
# credited). A payment matches the order before it, falls short of it or
# exceeds it by the client's index, so clients end up in debt, in credit or
# exactly up to date, and every transaction sums to zero.
INSERT_ENTRIES = """
WITH numbered AS (
    SELECT id, kind, row_number() OVER (ORDER BY id) - 1 AS g
    FROM payments_transaction WHERE market_id = %(market)s
), legs AS (
    SELECT id, kind, (%(accounts)s::bigint[])[g %% %(clients)s + 1] AS client,
           ((g %% %(clients)s) * 7 + (g / %(clients)s / 2) * 13) %% 4000 + 100
           + CASE WHEN kind = 'payment'
                  THEN ((g %% %(clients)s) %% 3 - 1) * ((g %% %(clients)s) %% 50 + 1)
                  ELSE 0 END AS cents
    FROM numbered
)
INSERT INTO payments_entry (transaction_id, account_id, amount)
SELECT id, client, (CASE WHEN kind = 'order' THEN cents ELSE -cents END)::numeric / 100
FROM legs
UNION ALL
SELECT id,
       CASE WHEN kind = 'order' THEN %(sales)s ELSE %(cash)s END,
       (CASE WHEN kind = 'order' THEN -cents ELSE cents END)::numeric / 100
FROM legs
"""

# The cached balance is what the page reads; set it as the posting service would.
UPDATE_BALANCES = """
UPDATE payments_account AS a SET balance = s.total
FROM (
    SELECT e.account_id, sum(e.amount) AS total
    FROM payments_entry e JOIN payments_account acc ON acc.id = e.account_id
    WHERE acc.market_id = %(market)s
    GROUP BY e.account_id
) AS s
WHERE a.id = s.account_id
"""


def refuse_unless_bench_database() -> None:
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        sys.exit(
            f"Refusing to write benchmark data into database {name!r}: use a database "
            "of its own, whose name contains 'bench' (e.g. cagette_bench)."
        )
    database_create_if_missing(name)


def database_create_if_missing(name: str) -> None:
    """Create the benchmark's database on the same server when it does not exist yet."""
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def market_is_built(spec: dict) -> bool:
    clients = Membership.objects.filter(market__slug=spec["slug"], role=Role.CLIENT)
    return clients.count() >= spec["clients"]


def create_clients(market: Market, count: int) -> list[int]:
    """``count`` clients with their ledger accounts, in bulk; returns the account ids."""
    rng = random.Random(market.slug)
    password = make_password(None)
    users = User.objects.bulk_create(
        [
            User(
                email=f"{market.slug}-{i:05d}@bench.invalid",
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                password=password,
            )
            for i in range(count)
        ],
        batch_size=2000,
    )
    memberships = Membership.objects.bulk_create(
        [Membership(user=user, market=market, role=Role.CLIENT) for user in users],
        batch_size=2000,
    )
    accounts = Account.objects.bulk_create(
        [
            Account(market=market, kind=AccountKind.CLIENT, membership=m, name=m.user.display_name)
            for m in memberships
        ],
        batch_size=2000,
    )
    return [account.pk for account in accounts]


def post_history(market: Market, account_ids: list[int], rounds: int, posted_by: User) -> None:
    params = {
        "market": market.pk,
        "clients": len(account_ids),
        "count": len(account_ids) * rounds,
        "posted_by": posted_by.pk,
        "accounts": account_ids,
        "sales": sales_account(market).pk,
        "cash": market_account(market, AccountKind.CASH).pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(INSERT_TRANSACTIONS, params)
        cursor.execute(INSERT_ENTRIES, params)
        cursor.execute(UPDATE_BALANCES, params)


def build_market(spec: dict) -> None:
    # One database transaction: the ledger's deferred triggers check every
    # transaction at commit, and a failed build leaves nothing half done.
    with transaction.atomic():
        market = Market.objects.create(name=spec["name"], slug=spec["slug"])
        treasurer = User.objects.create_user(
            f"tresorier@{spec['slug']}.bench.invalid", first_name="Trésorier", last_name="Bench"
        )
        membership_create(user=treasurer, market=market, role=Role.TREASURER)
        account_ids = create_clients(market, spec["clients"])
        post_history(market, account_ids, spec["rounds"], treasurer)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def prepare(rebuild: bool) -> None:
    call_command("migrate", verbosity=0, interactive=False)
    if rebuild:
        # The ledger refuses TRUNCATE (payments migration 0012) unless told, for
        # this one database transaction, that emptying the bench's own
        # database is meant.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL cagette.allow_truncate = 'on'")
            call_command("flush", verbosity=0, interactive=False)
    for spec in (SMALL, LARGE):
        if market_is_built(spec):
            print(f"{spec['slug']}: reusing existing data (--rebuild to start over)")
            continue
        started = time.perf_counter()
        build_market(spec)
        seconds = time.perf_counter() - started
        entries = spec["clients"] * spec["rounds"] * 2
        print(
            f"{spec['slug']}: built {spec['clients']} clients, {entries} entries in {seconds:.1f} s"
        )


def treasurer_client(slug: str) -> Client:
    treasurer = Membership.objects.get(market__slug=slug, role=Role.TREASURER).user
    client = Client(raise_request_exception=True)
    client.force_login(treasurer)
    return client


def timed_get(client: Client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed


def measure(params: str, runs: int, warmups: int) -> dict[str, tuple[float, int]]:
    """Per market: the median seconds to render the page, and its query count."""
    slugs = [SMALL["slug"], LARGE["slug"]]
    clients = {slug: treasurer_client(slug) for slug in slugs}
    urls = {
        slug: reverse("balance_list", args=[slug]) + (f"?{params}" if params else "")
        for slug in slugs
    }
    for _ in range(warmups):
        for slug in slugs:
            timed_get(clients[slug], urls[slug])
    timings = {slug: [] for slug in slugs}
    # Markets take turns, so a busy moment on the machine hits both alike;
    # the collector stays out of the timed requests.
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            for slug in slugs:
                timings[slug].append(timed_get(clients[slug], urls[slug]))
    finally:
        gc.enable()
    results = {}
    for slug in slugs:
        with CaptureQueriesContext(connection) as queries:
            timed_get(clients[slug], urls[slug])
        results[slug] = (statistics.median(timings[slug]), len(queries))
    return results


# Static URLs are not what is measured; no collectstatic manifest needed.
PLAIN_STATIC = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
VARIANTS = [("", "default view"), ("etat=debiteurs&tri=solde", "debtors by balance")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="empty the database and rebuild")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmups", type=int, default=2)
    args = parser.parse_args()

    refuse_unless_bench_database()
    started = time.perf_counter()
    prepare(args.rebuild)
    print(f"data ready in {time.perf_counter() - started:.1f} s")

    results = {}
    with override_settings(STORAGES=PLAIN_STATIC):
        for params, label in VARIANTS:
            for slug, (median, queries) in measure(params, args.runs, args.warmups).items():
                results[slug, params] = (median, queries)
                print(
                    f"{slug:<12} {label:<20} median {median * 1000:7.2f} ms  {queries} queries"
                    f"  ({args.runs} runs after {args.warmups} warmups)"
                )
    small, queries_small = results["bench-small", ""]
    large, queries_large = results["bench-large", ""]
    print(f"ratio={large / small:.2f} queries_small={queries_small} queries_large={queries_large}")


if __name__ == "__main__":
    main()

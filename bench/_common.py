"""What the benchmarks share: their own database, Django set up as in production.

Each benchmark writes into a PostgreSQL database of its own, named after
``BENCH_DATABASE_URL`` (default ``cagette_bench``) with a suffix
(``cagette_bench_posting``, ``cagette_bench_day``, ...): it is created and
migrated on first use, and reused afterwards.
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cagette_bench"

FIRST_NAMES = "Marie Jean Zoé Élodie Paul Léa Hugo Chloé Louis Inès Gabriel Émile Anaïs".split()
LAST_NAMES = "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau".split()


def bench_url(suffix: str) -> str:
    """``BENCH_DATABASE_URL`` (or the default) with ``_<suffix>`` after its database name."""
    parts = urlsplit(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"Refusing database {name!r}: a benchmark's database name contains 'bench'.")
    return urlunsplit(parts._replace(path=f"/{name}_{suffix}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def production_environment() -> dict[str, str]:
    """The settings a production start gives (DEBUG off: Django keeps no query log)."""
    return {
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-not-for-production",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
    }


def django_setup(suffix: str) -> str:
    """Point Django at the benchmark's database, set it up, create and migrate the
    database; return its URL."""
    url = bench_url(suffix)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cagette.settings")
    for name, value in production_environment().items():
        os.environ.setdefault(name, value)
    sys.path.insert(0, str(ROOT))
    import warnings

    import django

    django.setup()
    # WhiteNoise warns that collectstatic has not run; static files are not measured.
    warnings.filterwarnings("ignore", message="No directory at")
    database_create_if_missing(database_name(url))
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return url


def database_create_if_missing(name: str) -> None:
    from django.db import connection

    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def clients_create(market, count: int, prefix: str) -> list:
    """``count`` client memberships of ``market`` with their ledger accounts, in bulk."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import Membership, Role, User
    from payments.models import Account, AccountKind

    rng = random.Random(prefix)
    password = make_password(None)
    users = User.objects.bulk_create(
        [
            User(
                email=f"{prefix}-{i:05d}@bench.invalid",
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
    Account.objects.bulk_create(
        [
            Account(market=market, kind=AccountKind.CLIENT, membership=m, name=m.user.display_name)
            for m in memberships
        ],
        batch_size=2000,
    )
    return memberships


def staff_create(market, email: str, role: str):
    from accounts.models import User
    from payments.services import membership_create

    user = User.objects.create_user(email, first_name="Équipe", last_name="Bench")
    membership_create(user=user, market=market, role=role)
    return user


def ledger_check(slug: str | None = None) -> None:
    """``check_ledger``; exits non-zero, loudly, on any drift."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    try:
        call_command("check_ledger", *(["--market", slug] if slug else []))
    except CommandError as error:
        print(f"LEDGER DRIFT: {error}", file=sys.stderr)
        sys.exit(1)


def timed(func) -> tuple[float, object]:
    started = time.perf_counter()
    result = func()
    return time.perf_counter() - started, result


def median_ms(timings: list[float]) -> float:
    return statistics.median(timings) * 1000

"""Benchmark posting: `payment_record` with 1 and 8 workers vs pgbench TPC-B, same run.

    .venv/bin/python bench/posting.py [--seconds 20] [--workers 1 8] [--no-threads]

A market of 1 000 clients in ``cagette_bench_posting`` (built once, then
reused; ``BENCH_DATABASE_URL`` names the base, see `bench/_common.py`), and
pgbench's TPC-B at scale 10 in ``cagette_bench_pgbench``. The workers record
cash payments of random clients, as the pickup does, for ``--seconds`` each:
first as processes, each with its own database connection (the app runs so:
gunicorn's and the job queue's workers are processes), then as threads of one
process, each with its own connection (``--no-threads`` skips them), which
Python's global lock holds to about one core. Before they start, every
client's account reference is known (the workers inherit it): the steady
state of a worker that has served the market a while. Printed: the tps of
each, the SQL statements PostgreSQL ran for one posting and the round trips
(read off the connection's protocol trace, BEGIN and COMMIT included), then
``check_ledger``, which fails the benchmark on any drift. The last line:
``ratio8=<posting tps (processes) / pgbench tps, 8 workers> ratio1=<…, 1>
statements=<n> threads8=<the same ratio with threads> threads1=<…>``.
"""

import argparse
import multiprocessing
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    bench_url,
    clients_create,
    database_create_if_missing,
    database_name,
    django_setup,
    ledger_check,
    staff_create,
)

URL = django_setup("posting")

from django.db import connection, connections, transaction  # noqa: E402
from psycopg.pq import Trace  # noqa: E402

from accounts.models import Market, Membership, Role  # noqa: E402
from payments.ledger.accounts import client_ref  # noqa: E402
from payments.services import payment_record  # noqa: E402

SLUG = "bench-posting"
CLIENTS = 1000
AMOUNT = Decimal("12.30")


def market_build() -> Market:
    market = Market.objects.filter(slug=SLUG).first()
    if market is not None:
        print(f"{SLUG}: reusing existing market")
        return market
    with transaction.atomic():
        market = Market.objects.create(slug=SLUG, name="Bench · postings")
        staff_create(market, f"tresorier@{SLUG}.bench.invalid", Role.TREASURER)
        clients_create(market, CLIENTS, SLUG)
    print(f"{SLUG}: built {CLIENTS} clients")
    return market


def market_parts(market: Market):
    clients = list(
        Membership.objects.filter(market=market, role=Role.CLIENT).select_related("market", "user")
    )
    treasurer = Membership.objects.get(market=market, role=Role.TREASURER).user
    return clients, treasurer


def refs_warm() -> None:
    """Every client's account reference known before the workers start (they
    inherit it): the steady state of a worker that has served the market for
    a while, not the first posting of each client after a restart."""
    clients, _ = market_parts(Market.objects.get(slug=SLUG))
    for membership in clients:
        client_ref(membership)


def post_one(clients, treasurer, rng) -> None:
    payment_record(
        membership=rng.choice(clients), method="cash", amount=AMOUNT, recorded_by=treasurer
    )


def _worker(clients, treasurer, deadline: float, counts: list, index: int, seed=None) -> None:
    rng = random.Random(index if seed is None else seed)
    done = 0
    try:
        while time.monotonic() < deadline:
            post_one(clients, treasurer, rng)
            done += 1
    finally:
        counts[index] = done
        connections.close_all()


def posting_tps_threads(workers: int, seconds: float) -> float:
    clients, treasurer = market_parts(Market.objects.get(slug=SLUG))
    counts = [0] * workers
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_worker, args=(clients, treasurer, deadline, counts, i))
        for i in range(workers)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def _process_main(index, seconds, queue) -> None:
    counts = [0]
    started = time.monotonic()
    try:
        clients, treasurer = market_parts(Market.objects.get(slug=SLUG))
        _worker(clients, treasurer, started + seconds, counts, 0, seed=1000 + index)
    finally:  # the parent waits for every process's figure
        queue.put(counts[0] / (time.monotonic() - started))


def posting_tps_processes(workers: int, seconds: float) -> float:
    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [
        context.Process(target=_process_main, args=(i, seconds, queue)) for i in range(workers)
    ]
    for process in processes:
        process.start()
    rates = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    return sum(rates)


def statements_per_posting() -> tuple[int, list[str], int]:
    """The SQL statements PostgreSQL ran for one posting (after one that
    warmed the caches), and the round trips, read off the connection's
    protocol trace: what the server was sent, whatever Django logs."""
    clients, treasurer = market_parts(Market.objects.get(slug=SLUG))
    for _ in range(2):  # warm: this client's accounts known, the statement prepared
        post_one(clients, treasurer, random.Random(1))
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        try:
            post_one(clients, treasurer, random.Random(1))
        finally:
            pgconn.untrace()
        trace.seek(0)
        messages = [line.rstrip("\n").split("\t") for line in trace]
    server = [m for m in messages if m[0] == "B"]
    done = [m[3].strip(' "').split()[0] for m in server if m[2] == "CommandComplete"]
    trips = sum(1 for m in server if m[2] == "ReadyForQuery")
    return len(done), done, trips


def pgbench_tps(clients: int, seconds: int) -> float:
    url = bench_url("pgbench")
    result = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), url],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"pgbench failed:\n{result.stdout}{result.stderr}")
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    return float(found.group(1))


def pgbench_init() -> None:
    if shutil.which("pgbench") is None:
        sys.exit("pgbench is missing: apt-get install postgresql-client (Debian).")
    name = database_name(bench_url("pgbench"))
    database_create_if_missing(name)
    url = bench_url("pgbench")
    check = subprocess.run(
        ["psql", "-tAc", "SELECT count(*) FROM pgbench_branches", url],
        capture_output=True,
        text=True,
    )
    if check.returncode == 0 and check.stdout.strip() == "10":
        print(f"{name}: reusing pgbench tables (scale 10)")
        return
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", url], check=True, capture_output=True)
    print(f"{name}: pgbench tables built (scale 10)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--no-threads", action="store_true", help="processes only")
    args = parser.parse_args()

    market_build()
    pgbench_init()
    refs_warm()
    statements, kinds, trips = statements_per_posting()
    print(f"one posting: {statements} statements ({' '.join(kinds)}), {trips} round trips")
    print("django-hordak reference: skipped (not installed in this environment)")
    ratios, thread_ratios = {}, {}
    for workers in args.workers:
        floor = pgbench_tps(workers, args.seconds)
        processes = posting_tps_processes(workers, args.seconds)
        line = f"workers={workers} pgbench_tps={floor:.1f} posting_tps_processes={processes:.1f}"
        ratios[workers] = processes / floor
        if not args.no_threads:
            threads = posting_tps_threads(workers, args.seconds)
            line += f" posting_tps_threads={threads:.1f}"
            thread_ratios[workers] = threads / floor
        print(line + f" ratio={ratios[workers]:.3f}", flush=True)
    ledger_check(SLUG)
    order = sorted(ratios, reverse=True)
    print(
        " ".join(f"ratio{w}={ratios[w]:.3f}" for w in order)
        + f" statements={statements}"
        + "".join(f" threads{w}={thread_ratios[w]:.3f}" for w in order if w in thread_ratios)
    )


if __name__ == "__main__":
    main()

"""Benchmark the key pages under gunicorn vs the login page, in one run.

    .venv/bin/python bench/pages.py [--seconds 10] [--connections 8] [--workers 4]
        [--warmup 2] [--rounds 5]

Production settings (DEBUG=0, collectstatic into a temporary folder, an
imaginary HTTPS proxy: each request says ``X-Forwarded-Proto: https``) on the
demo data (``seed_demo``) in ``cagette_bench_pages`` (see `bench/_common.py`).
gunicorn with ``--workers`` processes; the load comes from Debian's ``wrk``
(``apt-get install wrk``) or, when it is missing, a small threaded client,
with ``--connections`` connections for ``--seconds`` per page, after
``--warmup`` seconds of the same load that are not counted (every worker has
then compiled its templates and opened its database connection). The pages take
turns (``--rounds``), so that the machine's other work weighs on each alike. The login page
is the floor; each key page is fetched with a session logged in through the
login form (the admin; « Mon compte » as the demo client), by the same gunicorn.
Each page's line says how many database connections the workers opened while
it was measured: production keeps them (``CONN_MAX_AGE``), so it is 0. Last
line: each page's requests per second divided by the login page's.
"""

import argparse
import http.client
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, django_setup, production_environment  # noqa: E402

URL = django_setup("pages")

import os  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.models import Membership, Role  # noqa: E402
from orders.models import Order  # noqa: E402

MARKET = "marche-de-montreuil"
PASSWORD = "cagette-demo"
ADMIN, CLIENT = "admin@demo.cagette.fr", "client@demo.cagette.fr"
HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def page_urls() -> dict[str, tuple[str, str | None]]:
    """Each page measured: (path, who is logged in)."""
    client = Membership.objects.get(market__slug=MARKET, user__email=CLIENT, role=Role.CLIENT)
    order = (
        Order.objects.filter(market__slug=MARKET, distribution__isnull=False)
        .order_by("-distribution__date", "number")
        .first()
    )
    distribution = order.distribution_id
    return {
        "login": (reverse("login"), None),
        "balances": (reverse("balance_list", args=[MARKET]), ADMIN),
        "history": (reverse("client_history", args=[MARKET, client.pk]), ADMIN),
        "validation": (reverse("day_distribution", args=[MARKET, distribution]), ADMIN),
        "my_account": (reverse("my_account", args=[MARKET]), CLIENT),
        "basket": (reverse("day_basket", args=[MARKET, distribution, order.pk]), ADMIN),
    }


def environment(static_root: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CONN_MAX_AGE", "LOGIN_THROTTLE"}}
    env.update(production_environment())
    env.pop("SECURE_SSL_REDIRECT")  # production's own: behind the (imaginary) proxy
    env.update(DATABASE_URL=URL, ALLOWED_HOSTS="127.0.0.1", STATIC_ROOT=static_root)
    env["SESSION_COOKIE_SECURE"] = env["CSRF_COOKIE_SECURE"] = "1"
    return env


def gunicorn_start(env: dict, workers: int, log: Path) -> tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "gunicorn", "cagette.wsgi", "--bind", "127.0.0.1:0"]
    command += ["--workers", str(workers), "--timeout", "120"]
    out = open(log, "w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text()
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
        if found and text.count("Booting worker") >= workers:
            return process, int(found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    sys.exit(f"gunicorn did not start:\n{log.read_text()}")


def request(port: int, method: str, path: str, cookies: dict, form=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = dict(HEADERS, Origin=f"https://127.0.0.1:{port}")
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    text = response.read().decode("utf-8", "replace")
    for header in response.headers.get_all("Set-Cookie") or []:
        for name, morsel in SimpleCookie(header).items():
            cookies[name] = morsel.value
    return response.status, text


def login(port: int, email: str) -> dict:
    cookies: dict[str, str] = {}
    _status, page = request(port, "GET", reverse("login"), cookies)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = {"csrfmiddlewaretoken": token, "username": email, "password": PASSWORD}
    status, _text = request(port, "POST", reverse("login"), cookies, form)
    assert status == 302 and "sessionid" in cookies, f"login of {email} failed ({status})"
    return cookies


def rate_wrk(port, path, cookies, connections, seconds) -> float:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s"]
    for name, value in HEADERS.items():
        command += ["-H", f"{name}: {value}"]
    if cookies:
        command += ["-H", "Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items())]
    result = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True)
    text = result.stdout.decode()
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if result.returncode != 0 or bad:
        sys.exit(f"wrk on {path}: failures\n{text}{result.stderr.decode()}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))


def rate_threads(port, path, cookies, connections, seconds) -> float:
    counts = [0] * connections
    deadline = time.monotonic() + seconds

    def load(index):
        while time.monotonic() < deadline:
            status, _text = request(port, "GET", path, dict(cookies))
            assert status == 200, (path, status)
            counts[index] += 1

    threads = [threading.Thread(target=load, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def backends() -> set[int]:
    """The server processes connected to the benchmark's database, but this one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def measure(rate, port, pages: dict, sessions: dict, args) -> dict[str, tuple[float, int]]:
    """Each page's requests per second, and the connections opened while it was measured.

    The pages take turns, ``--rounds`` times for ``--seconds / --rounds`` each (whole
    seconds), so that whatever else the machine does meanwhile weighs on all of
    them alike.
    """
    targets = {name: (path, sessions[who] if who else {}) for name, (path, who) in pages.items()}
    for path, cookies in targets.values():
        status, _text = request(port, "GET", path, dict(cookies))
        assert status == 200, f"{path}: {status}"
        rate(port, path, cookies, args.connections, args.warmup)
    rates = {name: [] for name in targets}
    opened = dict.fromkeys(targets, 0)
    turn = max(1, args.seconds // args.rounds)  # wrk counts whole seconds
    for _round in range(args.rounds):
        for name, (path, cookies) in targets.items():
            before = backends()
            rates[name].append(rate(port, path, cookies, args.connections, turn))
            opened[name] += len(backends() - before)
    return {name: (sum(r) / len(r), opened[name]) for name, r in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    call_command("seed_demo", verbosity=0)
    pages = page_urls()
    static_root = tempfile.mkdtemp(prefix="cagette-bench-static-")
    env = environment(static_root)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    rate = rate_wrk if shutil.which("wrk") else rate_threads
    print(f"load generator: {'wrk' if rate is rate_wrk else 'threaded Python client'}")
    log = Path(static_root) / "gunicorn.log"
    process, port = gunicorn_start(env, args.workers, log)
    try:
        sessions = {who: login(port, who) for who in (ADMIN, CLIENT)}
        measured = measure(rate, port, pages, sessions, args)
        for name, (per_second, opened) in measured.items():
            line = f"{name:<12} {pages[name][0]:<60} {per_second:8.1f} req/s"
            print(f"{line}  ({opened} connections opened)", flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
    rates = {name: per_second for name, (per_second, _opened) in measured.items()}
    floor = rates.pop("login")
    print(" ".join(f"{name}={value / floor:.2f}" for name, value in rates.items()))


if __name__ == "__main__":
    main()

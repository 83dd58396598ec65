"""The production start, as the README describes it, end to end.

Into a database of its own: ``migrate`` and ``seed_demo``; then
``collectstatic`` into a temporary folder and gunicorn with ``DEBUG=0``, behind
an imaginary HTTPS proxy (each request says ``X-Forwarded-Proto: https``), with
a job worker beside it (``manage.py procrastinate worker``) and a mail server
of the test's own. Each demo role logs in through the login form and opens its
main pages; a client's order is recorded by gunicorn and its recap email sent
by the worker.
"""

import http.client
import os
import re
import secrets
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
import pytest
from django.conf import settings

from tests.smtp import MailServer, free_port

ROOT = Path(__file__).resolve().parents[2]
MARKET = "/m/marche-de-montreuil"
PASSWORD = "cagette-demo"
ADMIN, TREASURER, CLIENT = (
    "admin@demo.cagette.fr",
    "tresorier@demo.cagette.fr",
    "client@demo.cagette.fr",
)

pytestmark = pytest.mark.postgres


def _server_settings() -> dict:
    return {k: settings.DATABASES["default"][k] for k in ("USER", "PASSWORD", "HOST", "PORT")}


def _admin_connection():
    s = _server_settings()
    return psycopg.connect(
        dbname="postgres",
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        autocommit=True,
    )


@pytest.fixture(scope="module")
def database_name():
    """A database of its own, named after this run's test database."""
    name = settings.DATABASES["default"]["NAME"]
    name = f"{name if name.startswith('test_') else 'test_' + name}_production"
    with _admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    yield name
    with _admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def mail_server():
    server = MailServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def environment(database_name, mail_server, tmp_path_factory) -> dict:
    s = _server_settings()
    credentials = quote(s["USER"] or "") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    # Outside the test run: no pytest marker, no test-only switch.
    dropped = {"PYTEST_VERSION", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"postgres://{credentials}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
        f"/{database_name}",
        STATIC_ROOT=str(tmp_path_factory.mktemp("static")),
        # The test's own mail server: nothing leaves the machine.
        EMAIL_URL=f"smtp://127.0.0.1:{mail_server.port}",
    )
    for name in ("CONN_MAX_AGE", "LOGIN_THROTTLE", "TRUSTED_PROXY_COUNT", "EMAIL_BACKEND"):
        environment.pop(name, None)
    return environment


def _manage(environment, *args):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def server(environment, tmp_path_factory):
    """gunicorn on a free port of 127.0.0.1, one worker, once the deploy steps ran."""
    _manage(environment, "migrate", "--no-input")
    _manage(environment, "seed_demo")
    _manage(environment, "collectstatic", "--no-input")
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "cagette.wsgi", "--bind", "127.0.0.1:0"]
    with open(log, "w") as out:
        process = subprocess.Popen(
            [*command, "--workers", "1", "--timeout", "60"],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield _wait_for_listening(process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def worker(server, environment, tmp_path_factory):
    """A job worker beside gunicorn, as the README runs it; its connections are named."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "procrastinate", "worker"],
            cwd=ROOT,
            env={**environment, "PGAPPNAME": WORKER_APP_NAME},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield log
    finally:
        process.terminate()  # SIGTERM: the worker ends its running jobs, then stops
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


WORKER_APP_NAME = "cagette-worker"


def _wait_for_listening(process, log: Path) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log.read_text())
        if found and "Booting worker" in log.read_text():
            return int(found.group(1))
        assert process.poll() is None, log.read_text()
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not start:\n{log.read_text()}")


class Visitor:
    """A browser behind an HTTPS proxy: keeps its (secure) cookies, follows nothing."""

    def __init__(self, port: int, address: str | None = None):
        self.port = port
        self.address = address
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"X-Forwarded-Proto": "https", "Origin": f"https://127.0.0.1:{self.port}"}
        if self.address:
            headers["X-Forwarded-For"] = self.address
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        connection.close()
        return response

    def get(self, path: str):
        return self.request("GET", path)

    def log_in(self, email: str, password: str = PASSWORD):
        page = self.get("/connexion/")
        assert page.status == 200, page.text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        form = {"csrfmiddlewaretoken": token, "username": email, "password": password}
        return self.request("POST", "/connexion/", form)


def _past_distribution(environment) -> int:
    with psycopg.connect(environment["DATABASE_URL"]) as connection:
        row = connection.execute(
            "SELECT d.id FROM distributions_distribution d"
            " JOIN accounts_market m ON m.id = d.market_id"
            " WHERE m.slug = 'marche-de-montreuil' ORDER BY d.date LIMIT 1"
        ).fetchone()
    return row[0]


def _server_connections(environment) -> set:
    database = environment["DATABASE_URL"].rsplit("/", 1)[1]
    with _admin_connection() as connection:
        rows = connection.execute(
            "SELECT pid, backend_start FROM pg_stat_activity"
            " WHERE datname = %s AND backend_type = 'client backend'"
            " AND application_name <> %s",
            [database, WORKER_APP_NAME],
        ).fetchall()
    return set(rows)


def _logged_in(port: int, email: str) -> Visitor:
    visitor = Visitor(port)
    response = visitor.log_in(email)
    assert response.status == 302, response.text
    return visitor


def _staff_pages(environment) -> list[str]:
    validation = f"{MARKET}/gestion/distributions/{_past_distribution(environment)}/validation/"
    return [f"{MARKET}/", f"{MARKET}/clients/soldes/", validation, f"{MARKET}/mon-compte/"]


@pytest.mark.parametrize("email", [ADMIN, TREASURER])
def test_the_staff_open_their_main_pages_in_production(server, environment, email):
    visitor = _logged_in(server, email)

    for path in _staff_pages(environment):
        response = visitor.get(path)
        assert response.status == 200, f"{path}: {response.status}\n{response.text[:2000]}"
        assert "Content-Security-Policy" in response.headers


def test_the_client_opens_their_main_pages_in_production(server):
    visitor = _logged_in(server, CLIENT)

    for path in (f"{MARKET}/", f"{MARKET}/mon-compte/"):
        response = visitor.get(path)
        assert response.status == 200, f"{path}: {response.status}\n{response.text[:2000]}"
    assert visitor.get(f"{MARKET}/clients/soldes/").status in (403, 404)


def test_pages_name_hashed_static_files_that_are_served(server):
    page = Visitor(server).get("/connexion/")
    names = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    stylesheet = next(n for n in names if "bootstrap.min." in n)

    response = Visitor(server).get(stylesheet)

    assert re.search(r"bootstrap\.min\.[0-9a-f]{12}\.css$", stylesheet), stylesheet
    assert response.status == 200
    assert "max-age" in response.headers["Cache-Control"]


def test_a_worker_keeps_its_database_connection_between_requests(server, environment):
    visitor = _logged_in(server, TREASURER)
    visitor.get(f"{MARKET}/")
    before = _server_connections(environment)

    for _ in range(3):
        assert visitor.get(f"{MARKET}/clients/soldes/").status == 200
    after = _server_connections(environment)

    assert len(before) == 1, before
    assert after == before


def test_failed_logins_are_throttled_in_production(server):
    # The address the proxy saw: the lockout of the address stays with this test.
    visitor = Visitor(server, address="203.0.113.9")
    for _ in range(9):
        assert visitor.log_in("intrus@exemple.fr", "pas-le-bon").status == 200

    refused = visitor.log_in("intrus@exemple.fr", "pas-le-bon")

    assert refused.status == 429
    assert "Trop de connexions ont échoué" in refused.text
    assert Visitor(server).log_in(CLIENT).status == 302


def _csrf(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def _order_by_transfer(visitor: Visitor, distribution: int):
    """The client's checkout, page by page: a product in the basket, paid by transfer."""
    shop = f"{MARKET}/distributions/{distribution}/"
    page = visitor.get(shop)
    assert page.status == 200, page.text[:2000]
    product = re.search(r'name="(qty-\d+)"', page.text).group(1)
    basket = visitor.request("POST", shop, {"csrfmiddlewaretoken": _csrf(page), product: "1"})
    assert basket.status == 302, basket.text[:2000]
    page = visitor.get(f"{shop}paiement/")
    assert page.status == 200, page.text[:2000]
    token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
    form = {"csrfmiddlewaretoken": _csrf(page), "form_token": token, "choice": "transfer"}
    return visitor.request("POST", f"{shop}paiement/", form)


def _open_distribution(environment) -> int:
    with psycopg.connect(environment["DATABASE_URL"]) as connection:
        row = connection.execute(
            "SELECT d.id FROM distributions_distribution d"
            " JOIN accounts_market m ON m.id = d.market_id"
            " WHERE m.slug = 'marche-de-montreuil' AND d.orders_close_at > now()"
            " ORDER BY d.date LIMIT 1"
        ).fetchone()
    return row[0]


def _recap_states(environment) -> tuple[list, list]:
    """The client's recap emails' states, and the sending jobs'."""
    with psycopg.connect(environment["DATABASE_URL"]) as connection:
        statuses = connection.execute(
            "SELECT e.status FROM accounts_outgoingemail e JOIN accounts_user u"
            " ON u.id = e.user_id WHERE u.email = %s",
            [CLIENT],
        ).fetchall()
        jobs = connection.execute(
            "SELECT status FROM procrastinate_jobs WHERE task_name = 'email_send'"
        ).fetchall()
    return statuses, jobs


def test_an_order_s_recap_is_sent_by_the_worker_beside_gunicorn(
    server, worker, environment, mail_server
):
    visitor = _logged_in(server, CLIENT)

    recorded = _order_by_transfer(visitor, _open_distribution(environment))

    assert recorded.status == 302, recorded.text[:2000]
    assert "/commandes/" in recorded.headers["Location"]
    deadline = time.monotonic() + 60
    while not mail_server.messages and time.monotonic() < deadline:
        time.sleep(0.2)
    [message] = [m for m in mail_server.messages if m["To"] == CLIENT] or [None]
    assert message is not None, worker.read_text()
    # The mail server has the message; the worker records it sent just after.
    statuses, jobs = _recap_states(environment)
    while (statuses == [("pending",)] or jobs == [("doing",)]) and time.monotonic() < deadline:
        time.sleep(0.2)
        statuses, jobs = _recap_states(environment)
    assert statuses == [("sent",)]
    assert jobs == [("succeeded",)]

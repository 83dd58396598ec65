"""The production start, as the README describes it, end to end.

Into a database of its own: ``migrate`` and ``seed_demo``; then
``collectstatic`` into a temporary folder and gunicorn with ``DEBUG=0``, behind
an imaginary HTTPS proxy (each request says ``X-Forwarded-Proto: https``). Each
demo role logs in through the login form and opens its main pages.
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
def environment(database_name, tmp_path_factory) -> dict:
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
        # Nothing leaves the machine, whatever listens on its port 25.
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    for name in ("CONN_MAX_AGE", "LOGIN_THROTTLE", "TRUSTED_PROXY_COUNT"):
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
            " WHERE datname = %s AND backend_type = 'client backend'",
            [database],
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

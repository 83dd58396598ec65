"""Who is signed in: Django's database sessions, read in one statement (accounts.access)."""

from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone


def _account(member):
    return reverse("my_account", args=[member.market.slug])


def test_a_signed_in_person_stays_signed_in(login, member):
    browser = login(member)
    assert browser.get(_account(member)).status_code == 200
    assert browser.get(_account(member)).status_code == 200


def test_the_session_is_read_in_one_query(login, member):
    browser = login(member)
    browser.get(_account(member))
    with CaptureQueriesContext(connection) as queries:
        browser.get(_account(member))
    reads = [q["sql"] for q in queries if 'FROM "django_session"' in q["sql"]]
    assert len(reads) == 1 and reads[0].startswith('SELECT session_data FROM "django_session"')


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(login, member):
    browser = login(member)
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value
    other = Client()
    other.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert other.get(_account(member)).status_code == 200

    browser.post(reverse("logout"))

    assert not Session.objects.filter(session_key=cookie).exists()
    assert other.get(_account(member)).status_code == 302


def test_an_expired_session_signs_nobody_in(login, member):
    browser = login(member)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert browser.get(_account(member)).status_code == 302


def test_an_unknown_session_key_signs_nobody_in(db, member, client):
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    assert client.get(_account(member)).status_code == 302

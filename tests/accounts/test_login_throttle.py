"""Failed logins are throttled per account and per address (django-axes).

Tests log in with the Django test client, which django-axes cannot see, so the
throttle is off under tests (``LOGIN_THROTTLE``) except here, where it is on.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from cagette.http import client_ip
from tests.factories import PASSWORD

LOCKED_OUT = "Trop de connexions ont échoué pour ce compte ou depuis cette adresse"


@pytest.fixture(autouse=True)
def throttle(settings):
    settings.AXES_ENABLED = True
    return settings.AXES_FAILURE_LIMIT


def _log_in(client, email, password, address="192.0.2.10"):
    return client.post(
        reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address
    )


def _fail(client, email, times, address="192.0.2.10"):
    for _ in range(times):
        _log_in(client, email, "pas-le-bon", address)


def _is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_production_locks_out_after_ten_failures_for_fifteen_minutes():
    assert django_settings.AXES_FAILURE_LIMIT == 10
    assert django_settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert django_settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]


def test_after_too_many_failures_the_right_password_is_refused_in_french(client, member, throttle):
    _fail(client, member.user.email, throttle)

    response = _log_in(client, member.user.email, PASSWORD)

    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED_OUT in page
    assert "15 minutes" in page
    assert 'name="password"' in page  # the login page itself, not a bare error page
    assert not _is_logged_in(client)


def test_the_failure_that_reaches_the_limit_already_says_so(client, member, throttle):
    _fail(client, member.user.email, throttle - 1)

    response = _log_in(client, member.user.email, "pas-le-bon")

    assert response.status_code == 429
    assert LOCKED_OUT in response.content.decode()


def test_one_failure_short_of_the_limit_the_right_password_still_logs_in(client, member, throttle):
    _fail(client, member.user.email, throttle - 1)

    response = _log_in(client, member.user.email, PASSWORD)

    assert response.status_code == 302
    assert _is_logged_in(client)


def test_capitals_in_the_address_count_against_the_same_account(client, member, throttle):
    _fail(client, member.user.email.upper(), throttle)

    response = _log_in(client, member.user.email, PASSWORD, address="198.51.100.7")

    assert response.status_code == 429


def test_a_locked_account_is_refused_from_every_address(client, member, throttle):
    _fail(client, member.user.email, throttle, address="192.0.2.10")

    response = _log_in(client, member.user.email, PASSWORD, address="198.51.100.7")

    assert response.status_code == 429
    assert not _is_logged_in(client)


def test_another_account_from_another_address_still_logs_in(client, member, admin, throttle):
    _fail(client, member.user.email, throttle, address="192.0.2.10")

    response = _log_in(client, admin.user.email, PASSWORD, address="198.51.100.7")

    assert response.status_code == 302


def test_an_address_that_tried_many_accounts_is_locked_out_for_all(client, member, throttle):
    for n in range(throttle):
        _fail(client, f"inconnu{n}@exemple.fr", 1, address="192.0.2.10")

    locked = _log_in(client, member.user.email, PASSWORD, address="192.0.2.10")
    elsewhere = _log_in(client, member.user.email, PASSWORD, address="198.51.100.7")

    assert locked.status_code == 429
    assert elsewhere.status_code == 302


def test_the_lockout_ends_once_the_cool_off_has_passed(client, member, throttle):
    _fail(client, member.user.email, throttle)
    assert _log_in(client, member.user.email, PASSWORD).status_code == 429

    past = timezone.now() - django_settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    AccessAttempt.objects.update(attempt_time=past)
    response = _log_in(client, member.user.email, PASSWORD)

    assert response.status_code == 302
    assert _is_logged_in(client)


def test_the_address_is_the_one_the_trusted_proxy_saw(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5"
    )

    assert client_ip(request) == "203.0.113.5"


def test_without_a_proxy_the_address_is_the_sockets(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6")

    assert client_ip(request) == "10.0.0.1"

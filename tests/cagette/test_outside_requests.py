"""No page waits on another service: Stripe and the mail server are only spoken to by jobs."""

import logging

import pytest
from django.test import RequestFactory

from cagette.http import CalledFromRequest, WebRequestScope, outside_requests
from payments.stripe import gateway


def _serve(view):
    return WebRequestScope(lambda request: view())(RequestFactory().get("/"))


def test_a_call_to_stripe_during_a_web_request_is_an_error_under_the_tests(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"

    with pytest.raises(CalledFromRequest, match="Stripe"):
        _serve(lambda: gateway.checkout_session_retrieve("cs_test_1"))


def test_an_email_sent_during_a_web_request_is_an_error_under_the_tests():
    with pytest.raises(CalledFromRequest, match="email"):
        _serve(lambda: outside_requests("An email sent"))


def test_outside_a_request_a_job_may_speak_to_them():
    outside_requests("Stripe (a job)")  # nothing raised

    _serve(lambda: None)
    outside_requests("Stripe (after the request)")  # the mark ends with the request


def test_in_production_it_is_logged_loudly_rather_than_failing_the_page(settings, caplog):
    settings.DEBUG = settings.TESTING = False

    with caplog.at_level(logging.ERROR, logger="cagette.http"):
        _serve(lambda: outside_requests("Stripe (refund)"))

    assert "Stripe (refund) during a web request" in caplog.text

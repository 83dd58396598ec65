"""A mail server that accepts the connection and never answers cannot hang a checkout."""

import datetime
import os
import socket
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import pytest
from django.conf import settings as django_settings

from orders.models import Order, Unit
from orders.services import basket_read, order_checkout
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

PRINT_TIMEOUT = "from django.conf import settings; print(settings.EMAIL_TIMEOUT)"


@pytest.fixture
def silent_mail_server(settings):
    """A port where the kernel accepts connections that nobody ever answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = listener.getsockname()
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield listener


@pytest.fixture
def carrots(market):
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    return ProductFactory(producer=farm, name="Carottes", unit=Unit.KG, unit_price=Decimal("2.80"))


def test_a_silent_mail_server_is_given_up_after_ten_seconds_by_default():
    assert django_settings.EMAIL_TIMEOUT == 10


def test_the_mail_timeout_is_read_from_the_environment():
    environment = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    environment.update(DEBUG="1", EMAIL_TIMEOUT="3")
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRINT_TIMEOUT],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.stdout.strip().splitlines()[-1] == "3", result.stderr


def test_a_checkout_is_recorded_quickly_when_the_mail_server_never_answers(
    settings, silent_mail_server, market, member, carrots, django_capture_on_commit_callbacks
):
    settings.EMAIL_TIMEOUT = 1
    market.payment_methods = ["cheque"]
    market.save()
    distribution = DistributionFactory(market=market, date=datetime.date(2026, 12, 4))
    lines = basket_read(market, {str(carrots.pk): "2"})

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        order = order_checkout(
            membership=member,
            distribution=distribution,
            lines=lines,
            choice="cheque",
            token=uuid.uuid4().hex,
        )

    assert time.monotonic() - started < 5
    assert Order.objects.filter(pk=order.pk).exists()

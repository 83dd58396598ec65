"""Email addresses: stored lower case on every path, unique whatever their case."""

import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import Membership, User
from payments.ledger import client_account
from tests.factories import PASSWORD, MarketFactory, UserFactory

STRONG_PASSWORD = "Radis-et-poireaux-2026"


@pytest.fixture
def superuser_client(client, db):
    superuser = User.objects.create_superuser("Chef@Cagette.local", STRONG_PASSWORD)
    client.force_login(superuser)
    return client


def _logs_in(client, email, password) -> bool:
    response = client.post(reverse("login"), {"username": email, "password": password})
    return response.status_code == 302


def test_the_manager_stores_the_whole_address_in_lower_case(db):
    user = User.objects.create_user("  Mixed.Case@Audit.LOCAL ", PASSWORD)

    assert user.email == "mixed.case@audit.local"


def test_saving_a_user_stores_the_address_in_lower_case(db):
    user = UserFactory(email="Jeanne.Martin@Exemple.fr")

    user.refresh_from_db()
    assert user.email == "jeanne.martin@exemple.fr"


def test_a_user_added_in_the_django_admin_with_capitals_can_log_in(superuser_client, client):
    response = superuser_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "Mixed.Case@Audit.local", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 302, response.content.decode()
    assert User.objects.filter(email="mixed.case@audit.local").exists()
    superuser_client.logout()
    assert _logs_in(client, "Mixed.Case@Audit.local", PASSWORD)


def test_changing_an_address_in_the_django_admin_stores_it_in_lower_case(superuser_client):
    user = UserFactory()
    form = {
        "email": "Nouvelle.Adresse@Exemple.FR",
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
    }

    response = superuser_client.post(reverse("admin:accounts_user_change", args=[user.pk]), form)

    assert response.status_code == 302, response.content.decode()
    user.refresh_from_db()
    assert user.email == "nouvelle.adresse@exemple.fr"


def test_the_django_admin_refuses_an_address_already_used_in_another_case(superuser_client):
    UserFactory(email="lea@exemple.fr")

    response = superuser_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "LEA@exemple.fr", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 200
    assert User.objects.filter(email__iexact="lea@exemple.fr").count() == 1


def test_the_database_refuses_two_addresses_differing_only_by_case(db):
    UserFactory(email="lea@exemple.fr")
    other = UserFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=other.pk).update(email="Lea@Exemple.fr")


def test_the_django_admin_login_accepts_an_address_typed_with_capitals(client, db):
    User.objects.create_superuser("chef@cagette.local", STRONG_PASSWORD)

    response = client.post(
        reverse("admin:login"),
        {"username": "Chef@Cagette.LOCAL", "password": STRONG_PASSWORD, "next": "/admin/"},
    )

    assert response.status_code == 302


def test_the_migration_lowercases_addresses_already_stored(db):
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(email="Ancien.Compte@Exemple.fr")
    migration = importlib.import_module("accounts.migrations.0006_user_email_lower_unique")

    migration.lowercase_emails(apps, None)

    user.refresh_from_db()
    assert user.email == "ancien.compte@exemple.fr"


# -- Memberships in the Django admin ---------------------------------------------------


def test_a_membership_cannot_be_moved_to_another_market_in_the_django_admin(
    superuser_client, member, other_market
):
    url = reverse("admin:accounts_membership_change", args=[member.pk])
    form = {
        "user": member.user.pk,
        "market": other_market.pk,
        "role": "treasurer",
        "joined_at": "2026-01-01",
    }

    response = superuser_client.post(url, form)

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.market_id != other_market.pk
    assert member.role == "treasurer"  # the rest is still editable
    assert client_account(member).market_id == member.market_id


def test_market_and_person_are_chosen_when_a_membership_is_added(superuser_client, db):
    user, market = UserFactory(), MarketFactory()

    response = superuser_client.post(
        reverse("admin:accounts_membership_add"),
        {"user": user.pk, "market": market.pk, "role": "client", "joined_at": "2026-01-01"},
    )

    assert response.status_code == 302
    membership = Membership.objects.get(user=user)
    assert membership.market == market
    assert client_account(membership).market == market

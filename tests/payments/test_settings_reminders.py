"""« Moyens de paiement »: whether, and when, the transfers not received are reminded."""

import html

import pytest

from accounts.models import MarketSettingsChange
from tests.payments.test_settings import IBAN, save, url, with_transfers

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


def test_the_reminders_are_off_by_default_two_days_before_at_9(login, admin, market):
    page = html.unescape(login(admin).get(url(market)).content.decode())

    assert "Relancer automatiquement les virements non reçus" in page
    assert (market.transfer_reminders_auto, market.transfer_reminders_days_before) == (False, 2)
    assert market.transfer_reminders_hour == 9
    assert 'name="transfer_reminders_days_before" value="2"' in page
    assert f'<option value="9" selected>9{NBSP}h</option>' in page


def test_the_reminder_settings_are_saved_and_logged_in_words(login, admin, market):
    client = login(admin)

    response = save(
        client,
        market,
        **with_transfers(),
        transfer_reminders_auto=True,
        transfer_reminders_days_before="1",
        transfer_reminders_hour="18",
    )

    assert response.status_code == 302
    market.refresh_from_db()
    assert market.transfer_reminders_auto is True
    assert (market.transfer_reminders_days_before, market.transfer_reminders_hour) == (1, 18)
    changes = dict(MarketSettingsChange.objects.values_list("field", "new_value"))
    assert changes["transfer_reminders_hour"] == "18"
    page = html.unescape(client.get(url(market)).content.decode())
    log = page[page.index('id="settings-changes"') :]
    assert "1 jour avant" in log and f"18{NBSP}h" in log and "Oui" in log


def test_the_reminder_can_be_the_day_of_the_distribution_itself(login, admin, market):
    save(login(admin), market, transfer_reminders_days_before="0", transfer_reminders_hour="0")

    market.refresh_from_db()
    assert (market.transfer_reminders_days_before, market.transfer_reminders_hour) == (0, 0)
    assert MarketSettingsChange.objects.filter(
        field="transfer_reminders_days_before", new_value="0"
    ).exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("transfer_reminders_days_before", "-1", "Indiquez un nombre de jours entre 0 et 30."),
        ("transfer_reminders_days_before", "31", "Indiquez un nombre de jours entre 0 et 30."),
        ("transfer_reminders_days_before", "deux", "Indiquez un nombre de jours entre 0 et 30."),
        ("transfer_reminders_days_before", "", "Indiquez un nombre de jours entre 0 et 30."),
        ("transfer_reminders_hour", "24", "Choisissez une heure dans la liste."),
        ("transfer_reminders_hour", "9h", "Choisissez une heure dans la liste."),
    ],
)
def test_a_bad_reminder_setting_is_refused_in_french_and_nothing_is_saved(
    login, admin, market, field, value, message
):
    response = save(login(admin), market, transfer_reminders_auto=True, **{field: value})

    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    market.refresh_from_db()
    assert market.transfer_reminders_auto is False
    assert not MarketSettingsChange.objects.exists()


def test_with_payments_off_the_reminder_settings_stay_as_they_are(login, admin, market):
    market.payments_enabled = False
    market.save()

    save(login(admin), market, transfer_reminders_auto=True, transfer_reminders_hour="7")

    market.refresh_from_db()
    assert (market.transfer_reminders_auto, market.transfer_reminders_hour) == (False, 9)
    assert market.iban != IBAN

"""Dates typed by a person: only inside the window a market's books can hold.

A typo such as ``0001-01-01`` or ``9999-12-31`` is no date anyone means, and
some break more than the page they are typed on: a timestamp near year 1,
shifted to UTC, falls below year 1 and can no longer be read back, and every
page that lists the row answers 500. So every date and date-time field of
every form is a `DateField` or `DateTimeField` of this module (from 1 January
2000 to ten years ahead), and the columns people type carry a database CHECK
(`db_window`) with the same floor and a fixed ceiling far enough ahead.
"""

import datetime
from functools import partial

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import CheckConstraint, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

EARLIEST_DATE = datetime.date(2000, 1, 1)
YEARS_AHEAD = 10
# The database's bounds cannot move with today: a fixed ceiling, and a floor one
# day below the forms' so that midnight on 1 January 2000 passes in any time zone.
DB_FLOOR = datetime.date(1999, 12, 31)
DB_CEILING = datetime.date(2100, 1, 1)


def latest_date(today: datetime.date | None = None) -> datetime.date:
    """The last date a form accepts: the same day ten years ahead (28 February for a 29th)."""
    today = today or timezone.localdate()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def check_date_window(
    value: datetime.date | datetime.datetime | None, *, past_only: bool = False
) -> None:
    """Refuse, in French, a date outside 2000 → ten years ahead (→ today if ``past_only``)."""
    if value is None:
        return
    # The day as typed: converting a year-1 time to another zone would overflow.
    day = value.date() if isinstance(value, datetime.datetime) else value
    if day < EARLIEST_DATE:
        raise ValidationError(
            _("La date ne peut pas être antérieure au 1er janvier 2000."), code="too_early"
        )
    if past_only and day > timezone.localdate():
        raise ValidationError(_("La date ne peut pas être dans le futur."), code="future")
    latest = latest_date()
    if day > latest:
        raise ValidationError(
            _("La date ne peut pas être postérieure au %(date)s."),
            code="too_late",
            params={"date": date_format(latest, "d/m/Y")},
        )


class DateField(forms.DateField):
    """A date inside the window; ``past_only=True`` for what already happened (a payment)."""

    def __init__(self, *, past_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.validators.insert(0, partial(check_date_window, past_only=past_only))

    def widget_attrs(self, widget):
        # The browser's date picker starts at the floor too (the ceiling moves with today).
        return {**super().widget_attrs(widget), "min": f"{EARLIEST_DATE:%Y-%m-%d}"}


class DateTimeField(forms.DateTimeField):
    default_validators = [check_date_window]

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "min": f"{EARLIEST_DATE:%Y-%m-%d}T00:00"}


def db_window(column: str, *, with_time: bool = False) -> Q:
    """The CHECK condition keeping ``column`` readable: from 2000 to before 2100."""
    floor, ceiling = DB_FLOOR, DB_CEILING
    if with_time:
        floor, ceiling = (
            datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
            for day in (DB_FLOOR, DB_CEILING)
        )
    return Q(**{f"{column}__gte": floor, f"{column}__lt": ceiling})


def window_constraint(column: str, name: str, *, with_time: bool = False) -> CheckConstraint:
    """A model's CHECK on ``column``; its message shows on any model form (the admin's too)."""
    return CheckConstraint(
        condition=db_window(column, with_time=with_time),
        name=name,
        violation_error_message=_("La date doit se situer entre l'an 2000 et l'an 2099."),
    )

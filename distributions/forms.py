"""The market admin's forms for distributions: the day, the place, the orders window.

A distribution's status moves open → closed (orders closed by hand) and back
while its day has not passed; once validated it no longer changes here.
"""

import datetime

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from cagette.dates import DateField, DateTimeField

from .models import Distribution, DistributionStatus

DATE_INPUTS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]
TIME_INPUTS = ["%H:%M", "%H:%M:%S", "%Hh%M", "%Hh"]
DATETIME_INPUTS = [
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %Hh%M",
    "%d/%m/%y %H:%M",
]
VALIDATED_MESSAGE = _("Cette distribution est validée : elle ne peut plus être modifiée.")


def is_editable(distribution: Distribution) -> bool:
    return distribution.status != DistributionStatus.VALIDATED


def _day_end(day: datetime.date) -> datetime.datetime:
    """Midnight at the end of ``day``, in the market's time zone."""
    next_day = day + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(next_day, datetime.time.min))


def _time_field(label):
    return forms.TimeField(
        label=label,
        required=False,
        input_formats=TIME_INPUTS,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )


def _datetime_field(label, help_text=""):
    return DateTimeField(
        label=label,
        help_text=help_text,
        input_formats=DATETIME_INPUTS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class DistributionForm(forms.ModelForm):
    date = DateField(
        label=_("Date"),
        input_formats=DATE_INPUTS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    starts_at = _time_field(_("Début de la distribution"))
    ends_at = _time_field(_("Fin de la distribution"))
    orders_open_at = _datetime_field(_("Ouverture des commandes"))
    orders_close_at = _datetime_field(
        _("Fermeture des commandes"),
        help_text=_("Au plus tard à la fin du jour de la distribution."),
    )

    class Meta:
        model = Distribution
        fields = ["date", "place", "starts_at", "ends_at", "orders_open_at", "orders_close_at"]
        widgets = {"place": forms.TextInput(attrs={"placeholder": _("ex. : Salle des fêtes")})}

    def __init__(self, *args, market, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.market = market
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the template's <form> has its own token

    def clean_date(self):
        day = self.cleaned_data["date"]
        # Fixing the place of a past distribution is fine; moving one into the past is not.
        moved = self.instance.pk is None or day != self.instance.date
        if moved and day < timezone.localdate():
            raise ValidationError(_("La date de la distribution est déjà passée."))
        return day

    def clean(self):
        data = super().clean()
        if not is_editable(self.instance):
            raise ValidationError(VALIDATED_MESSAGE)
        self._check_times(data.get("starts_at"), data.get("ends_at"))
        self._check_window(
            data.get("date"), data.get("orders_open_at"), data.get("orders_close_at")
        )
        return data

    def _check_times(self, starts_at, ends_at):
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("La fin de la distribution doit être après son début."))

    def _check_window(self, day, open_at, close_at):
        if not (open_at and close_at):
            return
        if close_at <= open_at:
            # A field error also spares the model's own (English) check of the same rule.
            self.add_error(
                "orders_close_at",
                _("La fermeture des commandes doit être après leur ouverture."),
            )
        elif day and close_at > _day_end(day):
            self.add_error(
                "orders_close_at",
                _(
                    "Les commandes doivent fermer au plus tard à la fin du jour de la "
                    "distribution (le %(date)s à minuit)."
                )
                % {"date": date_format(day, "d/m/Y")},
            )


class _StatusChangeForm(forms.Form):
    """Whether a distribution may move from one status to another; nothing to fill in
    but CSRF. The change itself is `distributions.status.distribution_status_change`."""

    from_status: str
    to_status: str

    def __init__(self, *args, distribution: Distribution, **kwargs):
        super().__init__(*args, **kwargs)
        self.distribution = distribution

    def warnings(self) -> list[str]:
        """What the admin should know once the change is made."""
        return []


class DistributionCloseForm(_StatusChangeForm):
    from_status = DistributionStatus.OPEN
    to_status = DistributionStatus.CLOSED

    def clean(self):
        if self.distribution.status != self.from_status:
            raise ValidationError(_("Les commandes de cette distribution ne sont pas ouvertes."))
        return super().clean()


class DistributionReopenForm(_StatusChangeForm):
    from_status = DistributionStatus.CLOSED
    to_status = DistributionStatus.OPEN

    def clean(self):
        if self.distribution.status != self.from_status:
            raise ValidationError(
                _("Seule une distribution aux commandes closes peut être rouverte.")
            )
        if self.distribution.date < timezone.localdate():
            raise ValidationError(
                _("Cette distribution est passée : ses commandes restent closes.")
            )
        return super().clean()

    def warnings(self) -> list[str]:
        if timezone.now() < self.distribution.orders_close_at:
            return []
        # Open again, yet past its closing time: clients still cannot order.
        return [
            _(
                "La date de fermeture des commandes est passée : modifiez-la pour que les "
                "clients puissent commander."
            )
        ]

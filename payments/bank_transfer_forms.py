"""Forms of the « Virements attendus » page, and the reminder settings of the
« Moyens de paiement » page (`AutoReminderFields`)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cagette.ids import MAX_ID, is_id

from .bank_transfers import filterable_distributions
from .forms import OnceForm

MAX_SELECTED = 1000


class IdListField(forms.Field):
    """The ids of the ticked rows (``name="payments"`` checkboxes in the table)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "invalid": _("Sélection invalide : rechargez la page et recommencez."),
        "too_many": _("Sélectionnez au plus %(max)s virements à la fois."),
    }

    def to_python(self, value) -> list[int]:
        if not value:
            return []
        if not isinstance(value, list | tuple):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            ids = {int(item) for item in value}
        except (TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not all(map(is_id, ids)):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if len(ids) > MAX_SELECTED:
            raise ValidationError(
                self.error_messages["too_many"], code="too_many", params={"max": MAX_SELECTED}
            )
        return sorted(ids)


class TransferSelectionForm(OnceForm):
    """The ticked transfers, for « Marquer comme reçus » or « Envoyer un rappel »."""

    token_prefix = "transfers"
    payments = IdListField(required=False)
    # The distribution the page was showing, to come back to it.
    distribution = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )

    def __init__(self, *args, **kwargs):
        # The page's distribution filter has a field of the same name.
        kwargs.setdefault("auto_id", "selection_%s")
        super().__init__(*args, **kwargs)

    def clean_payments(self):
        ids = self.cleaned_data["payments"]
        if not ids:
            raise ValidationError(_("Cochez au moins un virement."))
        return ids


class DistributionFilterForm(forms.Form):
    """Which distribution to show (all of them by default): an upcoming one, or a past
    one whose transfers are late."""

    distribution = forms.ModelChoiceField(
        label=_("Distribution"),
        queryset=None,
        required=False,
        empty_label=_("Toutes les distributions"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, market, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["distribution"].queryset = filterable_distributions(market)
        self.fields["distribution"].label_from_instance = _distribution_label

    @property
    def selected(self):
        return self.cleaned_data.get("distribution") if self.is_bound else None


def _distribution_label(distribution) -> str:
    return f"{distribution.date:%d/%m/%Y} — {distribution.place}"


DAYS_BEFORE_ERROR = _("Indiquez un nombre de jours entre 0 et 30.")
HOUR_ERROR = _("Choisissez une heure dans la liste.")


class AutoReminderFields(forms.Form):
    """« Relance des virements »: the fields `PaymentSettingsForm` takes from here."""

    transfer_reminders_auto = forms.BooleanField(
        label=_("Relancer automatiquement les virements non reçus"),
        required=False,
        help_text=_(
            "Avant chaque distribution, chaque client dont le virement n'est pas encore reçu "
            "reçoit un e-mail de rappel avec l'IBAN et la référence, une seule fois par "
            "distribution, au moment choisi ci-dessous."
        ),
    )
    transfer_reminders_days_before = forms.IntegerField(
        label=_("Combien de jours avant la distribution"),
        min_value=0,
        max_value=30,
        error_messages={
            code: DAYS_BEFORE_ERROR for code in ("required", "invalid", "min_value", "max_value")
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text=_("0 : le jour même de la distribution."),
    )
    transfer_reminders_hour = forms.TypedChoiceField(
        label=_("À quelle heure"),
        choices=[(hour, f"{hour}\u00a0h") for hour in range(24)],
        coerce=int,
        error_messages={"required": HOUR_ERROR, "invalid_choice": HOUR_ERROR},
    )

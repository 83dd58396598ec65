import re
import uuid

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cagette.dates import DateField
from cagette.money import MoneyField

from .cheques import received_cheques
from .models import PaymentMethod

_TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
DATE_INPUTS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]


EXPIRED_FORM = _("Formulaire expiré : rechargez la page et recommencez.")


class OnceForm(forms.Form):
    """A form carrying a one-time token: submitting it twice has one effect.

    The token is made when the form is shown; the service uses it as the
    ledger's idempotency key, so a double click or a resent POST posts once.
    """

    token_prefix = "form"
    # Not required here: a missing token is reported by `clean` like a forged one.
    form_token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("form_token", uuid.uuid4().hex)
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean(self):
        data = super().clean()
        if not _TOKEN_RE.match(data.get("form_token") or ""):
            # A form-wide error: nobody sees the errors of a hidden field.
            self.add_error(None, ValidationError(EXPIRED_FORM, code="expired"))
        return data

    def idempotency_key(self, *parts) -> str:
        return ":".join([self.token_prefix, *map(str, parts), self.cleaned_data["form_token"]])


def refuse_recorded_cheque(form: OnceForm, membership_id: int | None, *, but=None) -> None:
    """Put an error on the cheque number when this client's cheque is already recorded.

    Left out: ``but`` (the payment being received, received already by a
    double click) and the payment this very form recorded (the same form sent
    twice), which the services answer without a second posting.
    """
    data = form.cleaned_data
    number = data.get("cheque_number", "")
    if membership_id is None or data.get("method") != PaymentMethod.CHEQUE or not number.strip():
        return
    cheques = received_cheques(
        membership_id=membership_id, cheque_number=number, bank=data.get("bank", "")
    )
    if but is not None:  # receiving is keyed on the payment, not on the form
        cheques = cheques.exclude(pk=but.pk)
    elif data.get("form_token"):
        cheques = cheques.exclude(transaction__idempotency_key__endswith=f":{data['form_token']}")
    earlier = cheques.first()
    if earlier is not None:
        form.add_error("cheque_number", _recorded_cheque_message(earlier))


def _recorded_cheque_message(payment) -> str:
    recorded = timezone.localdate(payment.received_at) if payment.received_at else payment.paid_on
    return _("Le chèque n° %(number)s de ce client est déjà enregistré (le %(date)s).") % {
        "number": payment.cheque_number,
        "date": f"{recorded:%d/%m/%Y}",
    }


class OpeningBalanceForm(OnceForm):
    prefix = "opening"
    token_prefix = "opening"
    amount = MoneyField(
        label=_("Montant"),
        allow_negative=True,
        help_text=_("Positif si le client a un avoir, négatif s'il doit de l'argent au marché."),
    )
    label = forms.CharField(label=_("Libellé"), max_length=200, initial=_("Reprise de solde"))
    date = DateField(
        past_only=True,
        label=_("Date"),
        initial=timezone.localdate,
        input_formats=DATE_INPUTS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class PaymentForm(OnceForm):
    prefix = "payment"
    token_prefix = "payment"
    method = forms.ChoiceField(label=_("Moyen de paiement"), choices=PaymentMethod.choices)
    amount = MoneyField(label=_("Montant"))
    paid_on = DateField(
        past_only=True,
        label=_("Date du paiement"),
        initial=timezone.localdate,
        input_formats=DATE_INPUTS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reference = forms.CharField(label=_("Référence"), max_length=80, required=False)
    cheque_number = forms.CharField(label=_("Numéro de chèque"), max_length=40, required=False)
    bank = forms.CharField(label=_("Banque"), max_length=80, required=False)

    def __init__(self, *args, methods=None, membership_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership_id = membership_id  # whose cheques are checked for a repeat
        if methods is not None:
            self.fields["method"].choices = [
                (value, label) for value, label in PaymentMethod.choices if value in methods
            ]

    def clean(self):
        data = super().clean()
        if data.get("method") == PaymentMethod.CHEQUE and not data.get("cheque_number", "").strip():
            self.add_error("cheque_number", _("Indiquez le numéro du chèque."))
        if data.get("method") != PaymentMethod.CHEQUE:
            data["cheque_number"] = ""
            data["bank"] = ""
        refuse_recorded_cheque(self, self.membership_id)
        return data


class ReversalForm(OnceForm):
    token_prefix = "reversal"
    reason = forms.CharField(
        label=_("Motif de l'annulation"),
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("ex. : chèque saisi deux fois")}),
        # The field strips spaces first: a reason of spaces only is a missing reason.
        error_messages={"required": _("Indiquez pourquoi vous annulez cette opération.")},
    )

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.forms import OnceForm
from payments.methods import checkout_label


class PaymentChoiceForm(OnceForm):
    """« Choisir mon paiement »: one of the methods the market offers."""

    token_prefix = "checkout"
    choice = forms.ChoiceField(
        label=_("Comment souhaitez-vous payer ?"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez un moyen de paiement."),
            "invalid_choice": _("Ce moyen de paiement n'est pas proposé par le marché."),
        },
    )

    def __init__(self, *args, choices: list[str], note: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if choices:
            self.fields["choice"].choices = [(c, checkout_label(c)) for c in choices]
            self.fields["choice"].widget.attrs["class"] = "form-check-input"
            self.fields["choice"].help_text = note  # e.g. why a method is not offered
        else:
            # The market does not ask (cagnotte mode, or payments not managed).
            del self.fields["choice"]

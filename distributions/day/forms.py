"""Forms of the « Paiement » box on a basket at the distribution.

Each carries a one-time token (`OnceForm`): receiving is keyed on the payment
itself, and adding a payment or giving change back is keyed on the token, so
a double click or a resent POST has one effect.
"""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Market
from cagette.money import MoneyField
from payments.forms import OnceForm, refuse_recorded_cheque
from payments.methods import ON_SITE_METHODS, PaymentMethod
from payments.models import Payment

# What a person records by hand at the pickup or afterwards; online card
# payments arrive through Stripe.
MANUAL_METHODS = [*ON_SITE_METHODS, PaymentMethod.TRANSFER]


def on_site_methods(market: Market, declared: str = "") -> list[PaymentMethod]:
    """The on-site methods the market offers, with the one the client declared.

    A market offering none (they were switched off since) still gets them
    all: money handed over at the pickup must be recordable.
    """
    offered = [m for m in ON_SITE_METHODS if market.offers(m) or m == declared]
    return offered or list(ON_SITE_METHODS)


def manual_methods(market: Market) -> list[PaymentMethod]:
    """For a payment added by hand: what the market offers, or any in cagnotte mode."""
    offered = [m for m in MANUAL_METHODS if market.offers(m)]
    if market.cagnotte_mode or not offered:
        return list(MANUAL_METHODS)
    return offered


class _PaymentFields(OnceForm):
    """Method, amount, and the cheque's number and bank (kept only for a cheque)."""

    receiving: Payment | None = None  # the expected payment « Encaisser » confirms
    method = forms.ChoiceField(label=_("Moyen de paiement"))
    amount = MoneyField(label=_("Montant"))
    cheque_number = forms.CharField(label=_("Numéro de chèque"), max_length=40, required=False)
    bank = forms.CharField(label=_("Banque"), max_length=80, required=False)

    def __init__(self, *args, methods, blank_method: bool = False, membership_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership_id = membership_id  # whose cheques are checked for a repeat
        choices = [(m.value, m.label) for m in methods]
        if blank_method:
            choices.insert(0, ("", _("— Choisir —")))
        self.fields["method"].choices = choices
        for name, field in self.fields.items():
            css = "form-select" if name == "method" else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean(self):
        data = super().clean()
        if data.get("method") == PaymentMethod.CHEQUE:
            if not data.get("cheque_number", "").strip():
                self.add_error("cheque_number", _("Indiquez le numéro du chèque."))
        else:
            data["cheque_number"] = ""
            data["bank"] = ""
        refuse_recorded_cheque(self, self.membership_id, but=self.receiving)
        return data

    def payment_fields(self) -> dict:
        """The keyword arguments the payment services take."""
        data = self.cleaned_data
        return {
            "method": data["method"],
            "amount": data["amount"],
            "cheque_number": data["cheque_number"].strip(),
            "bank": data["bank"].strip(),
        }


_UNSET = object()


class ReceiveForm(_PaymentFields):
    """« Encaisser » one expected payment, with the method and amount actually paid."""

    token_prefix = "receive"

    def __init__(self, *args, payment: Payment, methods, amount=_UNSET, **kwargs):
        """``amount``: what is pre-filled, what is still due (the payment's own amount
        when not given; none when nothing is due any more)."""
        kwargs.setdefault("prefix", f"paiement-{payment.pk}")
        # Undecided at checkout (« sur place »): the admin must pick, nothing is assumed.
        undecided = payment.method == PaymentMethod.ON_SITE
        kwargs.setdefault("membership_id", payment.membership_id)
        super().__init__(*args, methods=methods, blank_method=undecided, **kwargs)
        self.receiving = payment
        self.fields["amount"].label = _("Montant reçu")
        self.fields["method"].label = _("Moyen de paiement utilisé")
        if not self.is_bound:
            if not undecided:
                self.initial.setdefault("method", payment.method)
            self.initial.setdefault("amount", payment.amount if amount is _UNSET else amount)
            self.initial.setdefault("cheque_number", payment.cheque_number)
            self.initial.setdefault("bank", payment.bank)


class AddPaymentForm(_PaymentFields):
    """« Ajouter un paiement »: a second payment, or a regularization in cagnotte mode."""

    prefix = "ajout"
    token_prefix = "basket-payment"

    def __init__(self, *args, methods, amount: Decimal | None = None, **kwargs):
        super().__init__(*args, methods=methods, **kwargs)
        if amount and not self.is_bound:
            self.initial.setdefault("amount", amount)


class RefundForm(OnceForm):
    """« Rendre la monnaie »: cash given back from the client's credit."""

    prefix = "monnaie"
    token_prefix = "change"
    amount = MoneyField(
        label=_("Montant rendu en espèces"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control"}),
    )

    def __init__(self, *args, amount: Decimal | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if amount and not self.is_bound:
            self.initial.setdefault("amount", amount)

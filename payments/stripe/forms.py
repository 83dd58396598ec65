"""The admin's refund form for an online card payment (basket page)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cagette.money import MoneyField

from ..forms import OnceForm
from ..methods import PaymentMethod
from ..models import PaymentStatus
from .refunds import paid_checkout, refundable


class OnlineRefundForm(OnceForm):
    """« Rembourser » all or part of a received online payment, to the card."""

    token_prefix = "online-refund"
    amount = MoneyField(
        label=_("Montant à rembourser"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control"}),
    )

    def __init__(self, *args, amount=None, **kwargs):
        kwargs.setdefault("prefix", "remboursement")
        super().__init__(*args, **kwargs)
        if amount and not self.is_bound:
            self.initial.setdefault("amount", amount)


def basket_online_refunds(payments) -> list[dict]:
    """For the basket page: each received online payment with its refund form and history."""
    rows = []
    for payment in payments:
        if payment.method != PaymentMethod.ONLINE_CARD or payment.status != PaymentStatus.RECEIVED:
            continue
        checkout = paid_checkout(payment)
        if checkout is None:
            continue
        available = refundable(checkout)
        form = OnlineRefundForm(amount=available, prefix=f"remboursement-{payment.pk}")
        rows.append(
            {
                "payment": payment,
                "checkout": checkout,
                "refundable": available,
                "form": form if available > 0 else None,
                "requests": checkout.refund_requests.select_related("requested_by").order_by("pk"),
            }
        )
    return rows

"""The admin's form to change an order after the fact (a line per product)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cagette.money import MoneyField, TypedNumberField
from payments.forms import OnceForm

from .checkout.changes import Wanted
from .checkout.errors import CheckoutError
from .checkout.lines import parse_quantity
from .models import Order, Product


class OrderAdjustForm(OnceForm):
    token_prefix = "adjust"
    add_product = forms.ModelChoiceField(
        label=_("Ajouter un produit"), queryset=Product.objects.none(), required=False
    )
    add_quantity = TypedNumberField(label=_("Quantité"), required=False, max_length=12)
    reason = forms.CharField(
        label=_("Raison de la modification"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("ex. : carottes manquantes, fromage pesé")}),
        error_messages={"required": _("Indiquez la raison de la modification.")},
    )

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.lines = list(order.lines.select_related("product__producer").order_by("product__name"))
        for line in self.lines:
            self.fields[f"qty-{line.product_id}"] = TypedNumberField(
                label=_("Quantité"), initial=line.quantity, max_length=12
            )
            self.fields[f"price-{line.product_id}"] = MoneyField(
                label=_("Prix unitaire"), initial=line.unit_price
            )
        ordered = [line.product_id for line in self.lines]
        self.fields["add_product"].widget.attrs["class"] = "form-select"
        self.fields["add_product"].queryset = (
            Product.objects.filter(market=order.market)
            .exclude(pk__in=ordered)
            .select_related("producer")
            .order_by("producer__name", "name")
        )

    def line_rows(self):
        """(line, quantity field, price field) for the template."""
        return [
            (line, self[f"qty-{line.product_id}"], self[f"price-{line.product_id}"])
            for line in self.lines
        ]

    def _quantity(self, name, product):
        try:
            return parse_quantity(self.cleaned_data.get(name, ""), product)
        except CheckoutError as error:
            self.add_error(name, error.message)
            return None

    def clean(self):
        data = super().clean()
        wanted = []
        for line in self.lines:
            quantity = self._quantity(f"qty-{line.product_id}", line.product)
            price = data.get(f"price-{line.product_id}")
            if quantity and price:
                wanted.append(Wanted(line.product, quantity, price))
        product = data.get("add_product")
        if product is not None:
            quantity = self._quantity("add_quantity", product)
            if quantity:
                wanted.append(Wanted(product, quantity, product.unit_price))
            elif quantity is not None:
                self.add_error("add_quantity", _("Indiquez la quantité du produit ajouté."))
        if not self.errors and not wanted:
            raise ValidationError(_("Une commande garde au moins un produit."))
        data["wanted"] = wanted
        return data

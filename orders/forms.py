"""The market admin's forms for producers and products.

Both forms belong to one market, given as ``market=``: the producer's name is
unique within it, and a product may only be attached to its producers.
"""

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from cagette.money import MoneyField

from .models import Producer, Product

DUPLICATE_PRODUCER = _("Un producteur porte déjà ce nom dans ce marché.")


class _MarketModelForm(forms.ModelForm):
    """A model form for one market's objects, laid out by crispy."""

    def __init__(self, *args, market, **kwargs):
        super().__init__(*args, **kwargs)
        self.market = market
        self.instance.market = market
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the template's <form> has its own token


class ProducerForm(_MarketModelForm):
    class Meta:
        model = Producer
        fields = ["name", "description", "email", "active", "stripe_account_id"]
        help_texts = {
            "active": _(
                "Un producteur inactif et ses produits ne sont plus proposés à la commande ; "
                "ses ventes passées restent dans l'historique."
            ),
        }

    def clean_name(self):
        name = self.cleaned_data["name"]
        # Stricter than the database (which ignores case): "Ferme du bois" and
        # "Ferme du Bois" would confuse everyone choosing a producer from a list.
        others = Producer.objects.filter(market=self.market, name__iexact=name)
        if others.exclude(pk=self.instance.pk).exists():
            raise ValidationError(DUPLICATE_PRODUCER, code="unique")
        return name

    def save_if_unique(self) -> Producer | None:
        """Save, or add the duplicate-name error if another admin has just taken the name.

        `clean_name` catches nearly every duplicate; this catches the one saved
        between the check and the write. Returns ``None`` when nothing was written.
        """
        try:
            with transaction.atomic():
                return self.save()
        except IntegrityError:
            self.add_error("name", ValidationError(DUPLICATE_PRODUCER, code="unique"))
            return None


class _ProducerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, producer):
        if producer.active:
            return producer.name
        return _("%(name)s (inactif)") % {"name": producer.name}


class ProductForm(_MarketModelForm):
    producer = _ProducerChoiceField(
        label=_("Producteur"),
        queryset=Producer.objects.none(),
        error_messages={"invalid_choice": _("Choisissez un producteur de ce marché.")},
    )
    unit_price = MoneyField(
        label=_("Prix unitaire (€)"),
        help_text=_(
            "Par unité choisie, par exemple 2,80. Changer le prix ne modifie pas les "
            "commandes déjà passées : chaque ligne de commande garde le prix du moment."
        ),
    )

    class Meta:
        model = Product
        fields = ["producer", "name", "unit", "unit_price", "active"]
        help_texts = {
            "active": _("Décochez pour retirer le produit de la vente sans le supprimer."),
        }

    def __init__(self, *args, market, **kwargs):
        super().__init__(*args, market=market, **kwargs)
        # A producer of another market is not a valid choice: a forged id is refused here.
        self.fields["producer"].queryset = Producer.objects.filter(market=market)

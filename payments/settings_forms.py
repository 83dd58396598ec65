"""The form of « Paramètres › Moyens de paiement ».

Bank details are checked with schwifty (the IBAN's checksum and its
country's format, the BIC's structure) and kept normalized: no spaces, upper
case. They are shown grouped by 4 (`Market.iban_display`).
"""

from decimal import Decimal

from crispy_bootstrap5.bootstrap5 import Switch
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Field, Fieldset, Layout
from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors
from schwifty import registry as schwifty_registry

from accounts.models import Market
from cagette.money import ZERO, TypedNumberField, parse_amount

from .bank_transfer_forms import AutoReminderFields
from .market_settings import SETTINGS_FIELDS, methods_ordered
from .methods import OFFERABLE_CHOICES, PaymentMethod

ONLINE_CARD = str(PaymentMethod.ONLINE_CARD)
TRANSFER = str(PaymentMethod.TRANSFER)

IBAN_ERRORS = {
    schwifty_errors.InvalidCountryCode: _(
        "« %(country)s » n'est pas un code pays : un IBAN commence par le code du pays "
        "de la banque, par exemple FR."
    ),
    schwifty_errors.InvalidStructure: _(
        "Cet IBAN ne suit pas le format des comptes %(country)s : une lettre ou un chiffre "
        "n'est pas à sa place."
    ),
    schwifty_errors.InvalidChecksumDigits: _(
        "La clé de contrôle de cet IBAN ne correspond pas : une faute de frappe s'est sans "
        "doute glissée, vérifiez chaque caractère."
    ),
}
IBAN_LENGTH_ERROR = _(
    "Cet IBAN n'a pas la longueur d'un IBAN %(country)s (%(length)s caractères, et non "
    "%(typed)s) : vérifiez qu'aucun caractère ne manque ou ne dépasse."
)
TRANSFER_REQUIRES = {
    "iban": _("Indiquez l'IBAN du marché : il est communiqué aux clients qui paient par virement."),
    "bic": _(
        "Indiquez le BIC de la banque : il accompagne l'IBAN sur les instructions de virement."
    ),
    "account_holder": _(
        "Indiquez le titulaire du compte : c'est le nom que vos clients donnent à leur banque."
    ),
}
# Stripe is configured by the platform, not the market: both API keys and the
# webhook's signing secret (without it, Stripe's confirmations are refused).
ONLINE_CARD_UNAVAILABLE = _(
    "La carte bancaire en ligne n'est pas disponible : la plateforme n'a pas encore "
    "terminé sa configuration Stripe (clés et secret du webhook)."
)
ONLINE_CARD_REASON = _(
    "indisponible : la plateforme n'a pas encore terminé sa configuration Stripe "
    "(clés et secret du webhook)."
)
ONLINE_CARD_KEPT = _(
    "indisponible : la plateforme n'a pas encore terminé sa configuration Stripe "
    "(clés et secret du webhook). Elle reste cochée, mais n'est pas proposée aux "
    "clients en attendant."
)
# With payments off, what depends on them is shown but cannot be changed (spec
# 001: the methods appear once payments are on); the switch says why.
REMINDER_FIELDS = tuple(AutoReminderFields.base_fields)
NEEDS_PAYMENTS = tuple(name for name in SETTINGS_FIELDS if name != "payments_enabled")
PAYMENTS_OFF_NOTE = _(
    "La gestion des paiements est désactivée : les moyens de paiement ci-dessous sont "
    "inactifs. En l'activant, chaque commande et chaque paiement s'inscrivent sur le compte "
    "du client, qui choisit comment payer juste après avoir validé son panier ; vous "
    "suivez les soldes dans « Solde des clients ». Cochez « Activer la gestion des "
    "paiements » pour choisir les moyens de paiement proposés."
)
CAGNOTTE_HELP = _(
    "Pour collecter les paiements de plusieurs ventes en une fois : par exemple un règlement "
    "mensuel avec des clients de confiance, ou quand personne du marché n'est présent à la "
    "distribution. La validation d'un panier ne crée alors aucun paiement : vous enregistrez "
    "vous-même les régularisations, au moment de votre choix. À la validation de sa commande, "
    "le client est prévenu que le marché fonctionne avec une cagnotte et que vous reviendrez "
    "vers lui pour les conditions de règlement."
)


def _compact(text: str) -> str:
    return "".join((text or "").split()).upper()


def iban_normalized(text: str) -> str:
    """The IBAN without spaces, in upper case; a French sentence when it is not one."""
    compact = _compact(text)
    if not compact:
        return ""
    if not (compact.isascii() and compact.isalnum()):
        raise ValidationError(
            _("Un IBAN ne contient que des lettres et des chiffres (les espaces sont permis)."),
            code="iban_characters",
        )
    _check_country_and_length(compact)
    try:
        IBAN(compact)
    except schwifty_errors.SchwiftyException as error:
        message = IBAN_ERRORS.get(type(error), _("Cet IBAN n'est pas valable."))
        raise ValidationError(message % {"country": compact[:2]}, code="iban") from None
    return compact


def _check_country_and_length(compact: str) -> None:
    """Check the start and the length first, with their own sentences.

    schwifty reads the first two characters as a country only after it has
    checked the structure, so a short or mistyped text (« abc ») would be
    called a badly formed account of country « AB ».
    """
    country = compact[:2]
    try:
        spec = schwifty_registry.get_iban_spec(country)
    except schwifty_errors.InvalidCountryCode:
        message = IBAN_ERRORS[schwifty_errors.InvalidCountryCode]
        raise ValidationError(message % {"country": country}, code="iban_country") from None
    if len(compact) != spec.iban_length:
        raise ValidationError(
            IBAN_LENGTH_ERROR
            % {"country": country, "length": spec.iban_length, "typed": len(compact)},
            code="iban_length",
        )


def bic_normalized(text: str) -> str:
    compact = _compact(text)
    if not compact:
        return ""
    try:
        BIC(compact)
    except schwifty_errors.SchwiftyException:
        raise ValidationError(
            _(
                "Ce BIC n'est pas valable : il compte 8 ou 11 lettres et chiffres, "
                "par exemple AGRIFRPP ou AGRIFRPP882."
            ),
            code="bic",
        ) from None
    return compact


def commission_normalized(text: str) -> Decimal:
    """A percentage between 0 and 100 with at most 2 decimals; empty is 0."""
    if not (text or "").strip():
        return ZERO
    try:
        value = parse_amount(text.replace("%", ""))
    except ValueError:
        raise ValidationError(
            _("Saisissez un pourcentage, par exemple 2,5."), code="commission"
        ) from None
    if value.as_tuple().exponent < -2:
        raise ValidationError(
            _("La commission ne peut pas avoir plus de 2 décimales."), code="commission"
        )
    if not Decimal("0") <= value <= Decimal("100"):
        raise ValidationError(
            _("La commission est un pourcentage entre 0 et 100."), code="commission"
        )
    return value.quantize(Decimal("0.01"))


class MethodCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes where some choices are shown, ticked or not, but cannot be changed."""

    # {value: whether it is ticked}; a disabled box is not sent, so the form
    # data cannot say whether it is ticked.
    locked: dict = {}

    def create_option(self, name, value, label, selected, *args, **kwargs):
        if value in self.locked:
            selected = self.locked[value]
        option = super().create_option(name, value, label, selected, *args, **kwargs)
        if value in self.locked:
            option["attrs"]["disabled"] = True
            option["attrs"]["data-locked"] = "true"  # whether payments are on or not
        return option


class PaymentSettingsForm(AutoReminderFields, forms.Form):
    payments_enabled = forms.BooleanField(
        label=_("Activer la gestion des paiements"),
        required=False,
        help_text=_(
            "Chaque commande et chaque paiement s'inscrivent sur le compte du client. Une fois "
            "les paiements activés, un client ne peut plus retirer de produits d'une commande "
            "passée : il peut seulement en ajouter."
        ),
    )
    payment_methods = forms.MultipleChoiceField(
        label=_("Moyens de paiement proposés aux clients"),
        required=False,
        choices=OFFERABLE_CHOICES,
        widget=MethodCheckboxes,
        help_text=_(
            "« Cagnotte » : le client paie avec son solde, qu'il crédite de temps en temps "
            "(par un chèque mensuel, par exemple)."
        ),
    )
    iban = forms.CharField(
        label=_("IBAN"),
        required=False,
        max_length=64,
        help_text=_(
            "Communiqué aux clients qui paient par virement, sur la page de validation de leur "
            "commande et dans l'e-mail récapitulatif."
        ),
    )
    bic = forms.CharField(label=_("BIC"), required=False, max_length=20)
    account_holder = forms.CharField(
        label=_("Titulaire du compte"),
        required=False,
        max_length=Market._meta.get_field("account_holder").max_length,
    )
    cheque_payee = forms.CharField(
        label=_("Ordre des chèques"),
        required=False,
        max_length=Market._meta.get_field("cheque_payee").max_length,
        help_text=_(
            "Le nom exactement tel que vos clients doivent l'écrire sur leurs chèques "
            "(par exemple « AMAP des Lilas ») : il est donné tel quel sur la page de "
            "confirmation de la commande et dans l'e-mail récapitulatif. Laissé vide : "
            "le titulaire du compte, ou à défaut le nom du marché."
        ),
    )
    stripe_commission_percent = TypedNumberField(
        label=_("Commission du marché (%)"),
        required=False,
        max_length=10,
        help_text=_(
            "Pour la carte bancaire en ligne seulement : quand un panier payé en ligne "
            "contient des produits d'un producteur ayant un compte Stripe connecté, sa part "
            "lui est versée directement, moins ce pourcentage que le marché garde. "
            "0 : aucune commission."
        ),
    )
    cagnotte_mode = forms.BooleanField(
        label=_("Activer l'option Cagnotte"), required=False, help_text=CAGNOTTE_HELP
    )
    allow_negative_balances = forms.BooleanField(
        label=_("Autoriser les soldes négatifs"),
        required=False,
        help_text=_(
            "Un client peut payer avec sa cagnotte même si son solde ne couvre pas la commande : "
            "il devient alors négatif. Sans cette option, pour payer avec sa cagnotte, le client "
            "doit d'abord créditer son compte. En mode Cagnotte, cette limite ne s'applique pas : "
            "les commandes sont inscrites sur le compte et l'administrateur régularise ensuite."
        ),
    )

    def __init__(self, *args, market: Market, online_card_available: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.market = market
        self.online_card_available = online_card_available
        # Always: a field disabled below takes its value from here, not from the data.
        self.initial.update(self._initial_from(market))
        self.payments_active = self._payments_active()
        if not self.payments_active:
            self._disable_what_needs_payments()
        if not online_card_available:
            self._lock_online_card()
        # What is written on the cheques when the field is left empty.
        payee = self.fields["cheque_payee"]
        payee.widget.attrs["placeholder"] = market.account_holder or market.name
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = self._layout()

    @staticmethod
    def _initial_from(market: Market) -> dict:
        return {
            "payments_enabled": market.payments_enabled,
            "payment_methods": methods_ordered(market.payment_methods),
            "iban": market.iban_display,
            "bic": market.bic,
            "account_holder": market.account_holder,
            "cheque_payee": market.cheque_payee,
            "stripe_commission_percent": str(market.stripe_commission_percent).replace(".", ","),
            "cagnotte_mode": market.cagnotte_mode,
            "allow_negative_balances": market.allow_negative_balances,
            **{name: getattr(market, name) for name in REMINDER_FIELDS},
        }

    def _payments_active(self) -> bool:
        """Payments as the form sends them (so one click can turn them on and pick methods),
        else as the market has them."""
        if self.is_bound:
            return self.fields["payments_enabled"].widget.value_from_datadict(
                self.data, self.files, self.add_prefix("payments_enabled")
            )
        return self.market.payments_enabled

    def _disable_what_needs_payments(self):
        for name in NEEDS_PAYMENTS:
            self.fields[name].disabled = True

    def _lock_online_card(self):
        field = self.fields["payment_methods"]
        offered = self.market.offers(ONLINE_CARD)
        field.widget.locked = {ONLINE_CARD: offered}
        reason = ONLINE_CARD_KEPT if offered else ONLINE_CARD_REASON
        field.choices = [
            (value, f"{label} — {reason}" if value == ONLINE_CARD else label)
            for value, label in field.choices
        ]

    def _layout(self) -> Layout:
        monospace = {"autocomplete": "off", "spellcheck": "false", "css_class": "font-monospace"}
        needs = {"css_class": "needs-payments"}
        return Layout(
            Fieldset(_("Gestion des paiements"), Switch("payments_enabled"), self._off_note()),
            Fieldset(_("Moyens de paiement"), "payment_methods", **needs),
            Fieldset(
                _("Virements"),
                Field("iban", **monospace),
                Field("bic", **monospace),
                "account_holder",
                **needs,
            ),
            Fieldset(
                _("Relance des virements"),
                Switch("transfer_reminders_auto"),
                *REMINDER_FIELDS[1:],
                **needs,
            ),
            Fieldset(_("Chèques"), "cheque_payee", **needs),
            Fieldset(_("Carte bancaire en ligne"), "stripe_commission_percent", **needs),
            Fieldset(_("Option Cagnotte"), Switch("cagnotte_mode"), **needs),
            Fieldset(_("Soldes des clients"), Switch("allow_negative_balances"), **needs),
        )

    def _off_note(self) -> HTML:
        hidden = " hidden" if self.payments_active else ""
        return HTML(
            format_html(
                '<div class="alert alert-info" id="payments-off-note"{}>{}</div>',
                hidden,
                PAYMENTS_OFF_NOTE,
            )
        )

    def clean_iban(self):
        return iban_normalized(self.cleaned_data["iban"])

    def clean_stripe_commission_percent(self):
        return commission_normalized(self.cleaned_data["stripe_commission_percent"])

    def clean_bic(self):
        return bic_normalized(self.cleaned_data["bic"])

    def clean_payment_methods(self):
        methods = methods_ordered(self.cleaned_data["payment_methods"])
        if self.online_card_available:
            return methods
        had_it = self.market.offers(ONLINE_CARD)
        if ONLINE_CARD in methods and not had_it:
            raise ValidationError(ONLINE_CARD_UNAVAILABLE, code="online_card_unavailable")
        # A disabled box is not sent: what the market had stays until Stripe is set up.
        return methods_ordered([*methods, ONLINE_CARD] if had_it else methods)

    def clean(self):
        data = super().clean()
        methods = data.get("payment_methods")
        if methods is None:
            return data
        if TRANSFER in methods:
            for name, message in TRANSFER_REQUIRES.items():
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, message)
        if data.get("payments_enabled") and not data.get("cagnotte_mode"):
            self._require_a_usable_method(methods)
        return data

    def _require_a_usable_method(self, methods: list[str]):
        usable = [m for m in methods if m != ONLINE_CARD or self.online_card_available]
        if not usable:
            self.add_error(
                "payment_methods",
                _(
                    "Cochez au moins un moyen de paiement, ou activez l'option Cagnotte : "
                    "sinon vos clients ne pourront pas valider leur commande."
                ),
            )

"""What the client may choose at checkout: whether payment is asked, the methods
offered for an amount, and why the online card is not (Stripe's minimum).

May import `payments` (methods, settings, the Stripe gateway's minimum) and
`orders.models`.
"""

from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.models import Market
from cagette.money import (
    format_euros,
)
from payments.market_settings import stripe_keys_configured
from payments.methods import OFFERABLE, ON_SITE_METHODS, PaymentMethod
from payments.stripe.gateway import CHECKOUT_MINIMUM, checkout_accepts

from ..models import CheckoutMode


def online_card_configured() -> bool:
    # One rule for checkout and the settings page: both Stripe keys and the
    # webhook secret are set.
    return stripe_keys_configured()


def asks_for_payment(market: Market) -> bool:
    """Whether checkout asks the client how they will pay."""
    return market.payments_enabled and not market.cagnotte_mode


def checkout_mode(market: Market) -> str:
    """The mode an order is taken under now; the order keeps it (see `CheckoutMode`)."""
    if not market.payments_enabled:
        return CheckoutMode.UNMANAGED
    if market.cagnotte_mode:
        return CheckoutMode.CAGNOTTE_MODE
    return CheckoutMode.CHOICE


def checkout_choices(market: Market, amount: Decimal | None = None) -> list[str]:
    """The methods offered at checkout, in display order; given the ``amount`` to
    pay, only those that can take it (Stripe refuses totals under its minimum)."""
    if not asks_for_payment(market):
        return []
    offered = [m for m in OFFERABLE if market.offers(m)]
    if not online_card_configured() or (amount is not None and not checkout_accepts(amount)):
        offered = [m for m in offered if m != PaymentMethod.ONLINE_CARD]
    on_site = [m for m in offered if m in ON_SITE_METHODS]
    if len(on_site) > 1:
        # "Sur place": the client need not decide now; the admin records how.
        offered.insert(offered.index(on_site[-1]) + 1, PaymentMethod.ON_SITE)
    return [str(m) for m in offered]


def online_card_minimum_note(market: Market, amount: Decimal) -> str:
    """Why « carte bancaire en ligne » is not offered for ``amount``, when that is the reason."""
    if PaymentMethod.ONLINE_CARD in checkout_choices(market) and not checkout_accepts(amount):
        return online_card_minimum_message()
    return ""


def online_card_minimum_message() -> str:
    return _(
        "Le paiement par carte bancaire en ligne n'est possible qu'à partir de %(minimum)s "
        "(minimum demandé par Stripe) : choisissez un autre moyen de paiement."
    ) % {"minimum": format_euros(CHECKOUT_MINIMUM)}

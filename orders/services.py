"""The orders app's services, as the other apps call them.

They live in `orders.checkout` by subject; this module names the ones other
apps use, so that a move inside `orders` changes no import outside it.
"""

from .checkout.adjusting import order_adjust
from .checkout.changes import Wanted, basket_check
from .checkout.choices import (
    asks_for_payment,
    checkout_choices,
    checkout_mode,
    online_card_configured,
    online_card_minimum_message,
    online_card_minimum_note,
)
from .checkout.errors import VALIDATED_MESSAGE, CheckoutError
from .checkout.lines import (
    BasketLine,
    basket_priced,
    basket_read,
    basket_total,
    parse_quantity,
    refuse_free_line,
)
from .checkout.recording import order_checkout

__all__ = [
    "VALIDATED_MESSAGE",
    "BasketLine",
    "CheckoutError",
    "Wanted",
    "asks_for_payment",
    "basket_check",
    "basket_priced",
    "basket_read",
    "basket_total",
    "checkout_choices",
    "checkout_mode",
    "online_card_configured",
    "online_card_minimum_message",
    "online_card_minimum_note",
    "order_adjust",
    "order_checkout",
    "parse_quantity",
    "refuse_free_line",
]

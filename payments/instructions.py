"""What a client must do to pay, per method: one source for page and email."""

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Market

from .methods import CAGNOTTE, PaymentMethod, checkout_label


@dataclass(frozen=True)
class PaymentInstructions:
    market: Market
    choice: str  # a checkout choice ("" when the market does not ask)
    amount: Decimal
    reference: str
    # The order was taken in the market's cagnotte mode (`Order.in_cagnotte_mode`),
    # whatever the market's settings are now.
    cagnotte_mode: bool = False

    @property
    def label(self) -> str:
        return checkout_label(self.choice)

    @property
    def asks_payment(self) -> bool:
        """Whether the client still has money to hand over (not the cagnotte)."""
        return self.kind in ("transfer", "cheque", "on_site", "online_card")

    @property
    def kind(self) -> str:
        """Which instructions to show: one template block per kind."""
        if not self.choice:
            return "cagnotte_mode" if self.cagnotte_mode else "none"
        if self.choice in (PaymentMethod.CASH, PaymentMethod.CARD_TERMINAL, PaymentMethod.ON_SITE):
            return "on_site"
        return {
            PaymentMethod.TRANSFER: "transfer",
            PaymentMethod.CHEQUE: "cheque",
            PaymentMethod.ONLINE_CARD: "online_card",
            CAGNOTTE: "cagnotte",
        }[self.choice]

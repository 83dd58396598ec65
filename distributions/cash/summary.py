"""The whole « Encaissements » page, read in a few queries whatever its size."""

from dataclasses import dataclass
from decimal import Decimal

from cagette.money import ZERO
from payments.methods import PaymentMethod
from payments.models import (
    Payment,
)

from ..models import Distribution
from .gaps import (
    OVERPAID,
    PARTIAL,
    UNPAID,
    BasketGap,
    BasketState,
    basket_gaps,
    settled_on_balance_count,
)
from .online import OnlineSplit, online_refunded, online_split
from .queries import METHODS
from .till import Till, till_read
from .totals import MethodTotal, method_totals, payments_by


@dataclass(frozen=True)
class CashSummary:
    distribution: Distribution
    methods: dict[str, MethodTotal]
    till: Till
    cheques: list[Payment]
    transfers: list[Payment]
    gaps: list[BasketGap]
    settled_on_balance: int
    split: OnlineSplit
    online_refunded: Decimal

    @property
    def method_rows(self) -> list[MethodTotal]:
        return [self.methods[m.value] for m in METHODS]

    @property
    def total_received(self) -> Decimal:
        return sum((t.total for t in self.methods.values()), ZERO)

    @property
    def count_received(self) -> int:
        return sum(t.count for t in self.methods.values())

    @property
    def cheque(self) -> MethodTotal:
        return self.methods[PaymentMethod.CHEQUE.value]

    @property
    def transfer(self) -> MethodTotal:
        return self.methods[PaymentMethod.TRANSFER.value]

    @property
    def card_terminal(self) -> MethodTotal:
        return self.methods[PaymentMethod.CARD_TERMINAL.value]

    @property
    def online(self) -> MethodTotal:
        return self.methods[PaymentMethod.ONLINE_CARD.value]

    @property
    def given_back(self) -> Decimal:
        """Cash given back at the pickup and refunds to the cards, as a positive amount."""
        return self.till.cash_out + self.online_refunded

    @property
    def net_received(self) -> Decimal:
        """What the distribution brought in, net of what went back: the distribution
        page's « Reçu »."""
        return self.total_received - self.given_back

    @property
    def online_net(self) -> Decimal:
        """Received online, less what went back to the cards: what Stripe pays out."""
        return self.online.total - self.online_refunded

    @property
    def online_kept(self) -> Decimal:
        """Of the online payments, what stays with the market (its commission included):
        received, less what went back to the cards and what the producers keep."""
        return self.online_net - self.split.transferred

    def gaps_in(self, state: BasketState) -> list[BasketGap]:
        return [gap for gap in self.gaps if gap.state == state]

    @property
    def unpaid(self) -> list[BasketGap]:
        return self.gaps_in(UNPAID)

    @property
    def partial(self) -> list[BasketGap]:
        return self.gaps_in(PARTIAL)

    @property
    def overpaid(self) -> list[BasketGap]:
        return self.gaps_in(OVERPAID)


def summary_read(distribution: Distribution) -> CashSummary:
    methods = method_totals(distribution)
    return CashSummary(
        distribution=distribution,
        methods=methods,
        till=till_read(distribution, methods[PaymentMethod.CASH.value].total),
        cheques=payments_by(distribution, PaymentMethod.CHEQUE),
        transfers=payments_by(distribution, PaymentMethod.TRANSFER),
        gaps=basket_gaps(distribution),
        settled_on_balance=settled_on_balance_count(distribution),
        split=online_split(distribution),
        online_refunded=online_refunded(distribution),
    )

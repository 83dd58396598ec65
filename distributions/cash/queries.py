"""The ledger and payment rows every « Encaissements » figure reads.

Every figure counts received payments only (``Payment.status == received``):
those are exactly the payments posted to the ledger, each debiting the money
account of its method (`payments.models.METHOD_ACCOUNT`). Money given back
(cash at the pickup, or to the card for an online payment) is a refund
transaction crediting the cash box or the online-payments account, tied to a
basket of this distribution; a refund later reversed never happened and is
left out.
"""

from django.db.models import (
    DecimalField,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce

from cagette.money import ZERO
from payments.models import (
    METHOD_ACCOUNT,
    MONEY,
    AccountKind,
    Entry,
    Payment,
    PaymentStatus,
    TransactionKind,
)

from ..models import Distribution

# Every method that brings money in, each with its money account in the ledger.
METHODS = list(METHOD_ACCOUNT)


def money_or_zero(expression):
    return Coalesce(expression, Value(ZERO), output_field=DecimalField(**MONEY))


def received_payments(distribution: Distribution) -> QuerySet[Payment]:
    return Payment.objects.filter(distribution=distribution, status=PaymentStatus.RECEIVED)


# Money given back for a basket leaves one of these accounts: the till, or
# Stripe (a refund to the client's card).
REFUND_ACCOUNTS = (AccountKind.CASH, AccountKind.ONLINE)


def refund_entries(
    distribution: Distribution, kinds: tuple[str, ...] = REFUND_ACCOUNTS
) -> QuerySet[Entry]:
    """The money account's side (negative) of each refund made for a basket of this
    distribution, in cash or to the card; a refund later reversed never happened."""
    return Entry.objects.filter(
        account__kind__in=kinds,
        transaction__kind=TransactionKind.REFUND,
        transaction__order__distribution=distribution,
        transaction__reversal__isnull=True,
    )


def cash_refund_entries(distribution: Distribution) -> QuerySet[Entry]:
    """The cash box's side of each cash refund made for a basket of this distribution."""
    return refund_entries(distribution, (AccountKind.CASH,))

"""The payments app's rows, one module per subject, all under the ``payments`` label.

- `ledger`: accounts, transactions and entries (the design overview, the sign
  convention and the invariants are told there);
- `records`: payments as records of their own, their reminders and re-choices;
- `stripe`: Checkout Sessions, refunds, events and producers' payouts;
- `exports`: files built by a job (PDF exports), with their progress;
- `bank`: the market's bank statements as imported, each bank line once.

May import `accounts`, `cagette` and `payments.methods` / `payments.labels`;
other apps' rows are named by string (``"orders.Order"``).
"""

from ..methods import PaymentMethod
from .bank import (
    BankCsvLayout,
    BankLine,
    BankLineAside,
    BankMatch,
    BankStatement,
    SetAsideReason,
    StatementFormat,
    StatementUpload,
)
from .exports import ACTIVE as EXPORT_ACTIVE
from .exports import Export, ExportKind, ExportStatus
from .ledger import (
    BALANCE_SLOTS,
    LABEL_WORDINGS,
    MONEY,
    POSTING_ORDER,
    Account,
    AccountKind,
    BalanceSlot,
    Entry,
    EntryQuerySet,
    LedgerCheckRun,
    Transaction,
    TransactionKind,
)
from .records import METHOD_ACCOUNT, Payment, PaymentRechoice, PaymentReminder, PaymentStatus
from .stripe import (
    CheckoutStatus,
    ProducerTransfer,
    ProducerTransferStatus,
    RefundStatus,
    RejectedStripeEvent,
    StripeCheckout,
    StripeCheckoutQuerySet,
    StripeEvent,
    StripeRefund,
    TransferReversalStatus,
)

__all__ = [
    "BALANCE_SLOTS",
    "LABEL_WORDINGS",
    "METHOD_ACCOUNT",
    "MONEY",
    "POSTING_ORDER",
    "Account",
    "AccountKind",
    "BalanceSlot",
    "BankCsvLayout",
    "BankLine",
    "BankLineAside",
    "BankMatch",
    "BankStatement",
    "CheckoutStatus",
    "EXPORT_ACTIVE",
    "Entry",
    "Export",
    "ExportKind",
    "ExportStatus",
    "EntryQuerySet",
    "LedgerCheckRun",
    "Payment",
    "PaymentMethod",
    "PaymentRechoice",
    "PaymentReminder",
    "PaymentStatus",
    "ProducerTransfer",
    "ProducerTransferStatus",
    "RefundStatus",
    "RejectedStripeEvent",
    "SetAsideReason",
    "StatementFormat",
    "StatementUpload",
    "StripeCheckout",
    "StripeCheckoutQuerySet",
    "StripeEvent",
    "StripeRefund",
    "TransactionKind",
    "Transaction",
    "TransferReversalStatus",
]

"""The ledger: the ground floor of the money, double entry, one book per market.

- `accounts`: the chart of accounts (system accounts, sales, one per client);
- `posting`: the one posting service (`transaction_post`, `transaction_reverse`),
  its locks, retries and specific exceptions;
- `batch`: many postings in one statement (payments received in bulk);
- `corrections`: « Annuler », an operation corrected by its reversal;
- `balances`: the « Solde des clients » reading of the client accounts;
- `checks`: what ``manage.py check_ledger`` verifies over the whole database;
- `check_runs`: the nightly job's runs of those checks, and the superusers' alarm.

The sign convention and the invariants are told in `payments.models.ledger`.
May import `accounts`, `cagette` and what `payments` describes its rows with
(`models`, `methods`, `labels`); never the services built on it, nor another
domain app.
"""

from .accounts import (
    account_balance,
    client_account,
    client_accounts,
    client_ref,
    market_account,
    market_ref,
    sales_account,
    with_balance,
)
from .batch import Posting, payment_key, payments_post, transactions_post_batch
from .posting import (
    AlreadyReversedError,
    CrossMarketError,
    InsufficientBalanceError,
    InvalidAmountError,
    LedgerError,
    Leg,
    UnbalancedTransactionError,
    accounts_lock,
    retried_on_conflict,
    transaction_post,
    transaction_reverse,
)

__all__ = [
    "AlreadyReversedError",
    "CrossMarketError",
    "InsufficientBalanceError",
    "InvalidAmountError",
    "LedgerError",
    "Leg",
    "Posting",
    "UnbalancedTransactionError",
    "account_balance",
    "accounts_lock",
    "client_account",
    "client_accounts",
    "client_ref",
    "market_account",
    "market_ref",
    "payment_key",
    "payments_post",
    "retried_on_conflict",
    "sales_account",
    "transaction_post",
    "transaction_reverse",
    "transactions_post_batch",
    "with_balance",
]

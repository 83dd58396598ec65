"""Payments: the ledger, what clients pay and how, the settings page, Stripe.

- `ledger/`: the ground floor, double entry (accounts, posting, balances, checks);
- `models/`: every row of the app (ledger, payment records, Stripe), one label;
- `stripe/`: everything that talks to Stripe (Checkout, webhooks, refunds, payouts);
- `services`: payment records — opened accounts, payments recorded, received,
  cancelled, refunds and corrections; `methods`, `labels`, `instructions`: the
  payment methods, the ledger's wordings, what a client is told to do to pay;
- `bank_transfers` (+ `bank_transfer_forms`): bank transfers expected and their
  reminders; `cheques`; `market_settings` (+ `settings_forms`): the market's
  « Moyens de paiement » page; `forms`, `views/`, `urls`: the treasurer's pages.

Depends on `accounts` and on `cagette`'s shared helpers only: never on `orders`
or `distributions`, whose rows it reaches through foreign keys by string
(``"orders.Order"``). Flows about an order (choosing another way to pay) live in
`orders`; pages that read every app in `cagette`.
"""

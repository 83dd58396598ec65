"""The treasurer's and the client's pages of the ledger: « Solde des clients »,
a client's history and payments, bank transfers expected, the payment settings.

Each view checks access, validates a form, calls one service of `payments`.
May import `accounts`, `cagette` and `payments`; no other app's views.
"""

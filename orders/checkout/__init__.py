"""Checkout and order changes: the client's basket read and recorded, an admin's adjustment.

An order is a record that follows the basket; the ledger never changes. Each
time an order's total changes, the difference is posted as a new transaction
(client debited, each producer's sales credited), and, when the market
manages payments, a pending `Payment` is created for what is still to pay.

- `errors`: `CheckoutError`, the refusals a client can act on;
- `choices`: the payment methods offered at checkout;
- `lines`: reading and pricing a basket (writes nothing);
- `changes`: setting an order's lines and posting the difference;
- `recording`: `order_checkout`; `adjusting`: `order_adjust`;
- `session`: the basket kept in the session until checkout.

May import `accounts`, `payments` (ledger, models, methods, services,
settings) and `orders`' own models, money and emails; never `distributions`
beyond its model, nor any view.
"""

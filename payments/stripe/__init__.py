"""Card payments through Stripe: everything that talks to Stripe lives here.

- `gateway`: the only module that calls Stripe's API (amounts in cents only here);
- `checkout`: Checkout Sessions for a pending online payment, and their outcome;
- `webhooks`: Stripe's events, verified, recorded once and handed to the above;
- `refunds`: refunds asked by an admin, confirmed by Stripe, posted to the ledger;
- `adopt`: rows for refunds posted as a running total before payments migration
  0010 (``manage.py stripe_refunds_adopt``, once after such an upgrade);
- `shares` and `payouts`: each producer's share of an online payment and the
  Stripe Connect payouts (transfers to connected accounts) that send it;
- `forms`, `views`, `urls`: the return page, the webhook and the refund form.

May import `accounts`, `cagette` and the rest of `payments`; never `orders` or
`distributions` (their rows are reached through foreign keys).
"""

"""Card payments through Stripe: everything that talks to Stripe lives here.

- `gateway`: the only module that calls Stripe's API (amounts in cents only here);
- `checkout`: Checkout Sessions for a pending online payment, and their outcome;
- `opening`: sessions opened, checked and closed by jobs (never by a request);
- `deferred`: deferring those jobs (`payments.tasks`) in the deciding transaction;
- `webhooks`: Stripe's events, verified, recorded once and handed to the above;
- `refunds`: refunds asked by an admin, confirmed by Stripe, posted to the ledger;
- `reconcile`: what the webhooks did not settle, asked to Stripe (a periodic job);
- `shares` and `payouts`: each producer's share of an online payment and the
  Stripe Connect payouts (transfers to connected accounts) that send it;
- `forms`, `views`, `urls`: the waiting and return pages, the webhook, the refund
  form and Encaissements' « Réessayer ».

May import `accounts`, `cagette` and the rest of `payments`; never `orders` or
`distributions` (their rows are reached through foreign keys).
"""

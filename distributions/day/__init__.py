"""Distribution day: every basket of a distribution, its payments at the pickup, its validation.

- `baskets`: reading the day (each basket's money, by `orders.money`; filters, totals);
- `pickup`: one basket's services (receive, mark not paid, add, give back, validate);
- `bulk`: « valider les paniers payés comme déclaré »;
- `basket_money`: what the basket page pre-fills and says of the client's balance,
  and settling a basket with the client's credit;
- `forms`, `bulk_forms`: the forms of those pages;
- `views`, `payment_views`, `bulk_views`, `credit_views`: the pages (wired in
  `distributions.urls_day`).

Services may import `accounts`, `orders` (models, money), `payments` (ledger,
models, methods, services) and `distributions.models`/`status`; views import
services and forms, never another app's views (the online refunds of the
basket page are read from `payments.stripe.views` until that reading moves).
"""

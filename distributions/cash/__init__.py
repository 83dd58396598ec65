"""« Encaissements »: what one distribution brought in, read for the page and its exports.

- `queries`: the payment and ledger rows every figure reads;
- `totals`: per method, and the cheques and transfers one by one;
- `till`: the float, cash in and out, the count (and recording it);
- `gaps`: baskets not paid as ordered (their money read by `orders.money`);
- `online`: refunds to the cards and the producers' share of online payments;
- `summary`: the whole page; `lines`: the CSV export;
- `forms`, `views`: the pages (wired in `distributions.urls_cash`).

Each read is one query whatever the number of payments: the page costs the
same for ten baskets or five hundred. May import `orders` (models, money),
`payments` (models, methods, producer transfers) and `distributions.models`.
"""

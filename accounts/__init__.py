"""People and markets: users, markets, memberships and their roles, access rules,
login and language.

The ground floor of the domain apps: imports only `cagette`'s shared helpers,
never `payments`, `orders` or `distributions` (a new member's client account is
opened by `payments.services.membership_create`).
"""

"""The project: settings, URL wiring, and what sits below and above the apps.

Below every app, shared helpers importing no domain app: `money` (Decimal
amounts, ``1 234,56 €``), `dates`, `i18n`, `emails`, `http`, `ids`, `search`,
`middleware`, `jobs` (the job queue's rules), `jobqueue` (the jobs and their
errors in the Django admin). Above them, code that reads every app: `views`
(the market's home page), `urls`, ``management/commands/seed_demo`` and the
template filters.
Domain apps import the helpers only, never the floor above.
"""

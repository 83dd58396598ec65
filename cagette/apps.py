from django.apps import AppConfig
from django.db.backends.signals import connection_created

from .search import fold, person_text, unaccent


class CagetteConfig(AppConfig):
    name = "cagette"

    def ready(self):
        # PostgreSQL has the search functions from a migration (and the unaccent
        # extension); SQLite gets them per connection.
        connection_created.connect(_add_sqlite_functions)


def _add_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor != "sqlite":
        return
    connection.connection.create_function("unaccent", 1, unaccent, deterministic=True)
    connection.connection.create_function("cagette_fold", 1, fold, deterministic=True)
    connection.connection.create_function("cagette_person_text", 3, person_text, deterministic=True)

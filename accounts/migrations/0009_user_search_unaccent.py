"""Searches that ignore accents and case (see `cagette.search`).

``unaccent()`` is only STABLE (its dictionary could change), so PostgreSQL
refuses it in an index. The usual way round is an IMMUTABLE wrapper that
names the dictionary with its schema, so the search path cannot change what
it does: ``cagette_fold``. Functions are named with their schema inside
the bodies, so a restore (which empties the search path) rebuilds the index. ``cagette_person_text`` folds a person's names and
email into the one text that searches read and the trigram index holds.

The index is created by hand, outside the model's state.
"""

import django.contrib.postgres.indexes
from django.db import migrations

import cagette.search

FUNCTIONS = """
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

CREATE OR REPLACE FUNCTION public.cagette_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

CREATE OR REPLACE FUNCTION public.cagette_person_text(first_name text, last_name text, email text)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT public.cagette_fold(concat_ws(' ', first_name, last_name, email)) $$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS public.cagette_person_text(text, text, text);
DROP FUNCTION IF EXISTS public.cagette_fold(text);
"""

INDEX = django.contrib.postgres.indexes.GinIndex(
    django.contrib.postgres.indexes.OpClass(cagette.search.PersonText(), name="gin_trgm_ops"),
    name="user_search_trgm_idx",
)


def forward(apps, schema_editor):
    schema_editor.execute(FUNCTIONS, params=None)
    schema_editor.add_index(apps.get_model("accounts", "User"), INDEX)


def backward(apps, schema_editor):
    schema_editor.remove_index(apps.get_model("accounts", "User"), INDEX)
    schema_editor.execute(DROP_FUNCTIONS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_dates_in_window"),
    ]

    operations = [migrations.RunPython(forward, backward)]

"""Searches that ignore accents and case (see `cagette.search`).

``unaccent()`` is only STABLE (its dictionary could change), so PostgreSQL
refuses it in an index. The usual way round is an IMMUTABLE wrapper that
names the dictionary with its schema, so the search path cannot change what
it does: ``cagette_fold``. ``cagette_person_text`` folds a person's names and
email into the one text that searches read and the trigram index holds.
"""

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations

import cagette.search

FUNCTIONS = """
CREATE OR REPLACE FUNCTION cagette_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

CREATE OR REPLACE FUNCTION cagette_person_text(first_name text, last_name text, email text)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT cagette_fold(concat_ws(' ', first_name, last_name, email)) $$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS cagette_person_text(text, text, text);
DROP FUNCTION IF EXISTS cagette_fold(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_membership_last_visited"),
    ]

    operations = [
        UnaccentExtension(),
        TrigramExtension(),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        migrations.AddIndex(
            model_name="user",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    cagette.search.PersonText(), name="gin_trgm_ops"
                ),
                name="user_search_trgm_idx",
            ),
        ),
    ]

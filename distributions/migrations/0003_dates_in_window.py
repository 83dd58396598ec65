"""Distributions keep their dates between 2000 and 2099 (CHECK constraints).

A row typed before the forms were bounded (orders opening on 0001-01-01)
cannot be read back and breaks every page listing it: it is first brought
inside the window, so the constraints can be added and the pages work again.
"""

import datetime

from django.db import migrations, models

REPAIR_SQL = [
    # Too early: the orders window starts on 1 January 2000, still before its end.
    """
    UPDATE distributions_distribution
    SET orders_open_at = GREATEST(orders_open_at, '2000-01-01 00:00+00'),
        orders_close_at = GREATEST(orders_close_at, '2000-01-01 00:01+00')
    WHERE orders_open_at < '2000-01-01 00:00+00' OR orders_close_at < '2000-01-01 00:01+00'
    """,
    # Too late: the window ends on 31 December 2099, still after its start.
    """
    UPDATE distributions_distribution
    SET orders_open_at = LEAST(orders_open_at, '2099-12-31 00:00+00'),
        orders_close_at = LEAST(orders_close_at, '2099-12-31 00:01+00')
    WHERE orders_open_at > '2099-12-31 00:00+00' OR orders_close_at > '2099-12-31 00:01+00'
    """,
    "UPDATE distributions_distribution SET date = '2000-01-01' WHERE date < '2000-01-01'",
    "UPDATE distributions_distribution SET date = '2099-12-31' WHERE date > '2099-12-31'",
]


def repair_dates(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for statement in REPAIR_SQL:
            cursor.execute(statement)
        # Run the deferred checks now: ALTER TABLE refuses a table with pending ones.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):

    dependencies = [
        ('distributions', '0002_cash_count'),
    ]

    operations = [
        migrations.RunPython(repair_dates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='distribution',
            constraint=models.CheckConstraint(condition=models.Q(('date__gte', datetime.date(1999, 12, 31)), ('date__lt', datetime.date(2100, 1, 1))), name='distribution_date_in_window', violation_error_message="La date doit se situer entre l'an 2000 et l'an 2099."),
        ),
        migrations.AddConstraint(
            model_name='distribution',
            constraint=models.CheckConstraint(condition=models.Q(('orders_open_at__gte', datetime.datetime(1999, 12, 31, 0, 0, tzinfo=datetime.timezone.utc)), ('orders_open_at__lt', datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.timezone.utc))), name='distribution_orders_open_at_in_window', violation_error_message="La date doit se situer entre l'an 2000 et l'an 2099."),
        ),
        migrations.AddConstraint(
            model_name='distribution',
            constraint=models.CheckConstraint(condition=models.Q(('orders_close_at__gte', datetime.datetime(1999, 12, 31, 0, 0, tzinfo=datetime.timezone.utc)), ('orders_close_at__lt', datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.timezone.utc))), name='distribution_orders_close_at_in_window', violation_error_message="La date doit se situer entre l'an 2000 et l'an 2099."),
        ),
    ]

# The constraint comes in its own migration: on PostgreSQL, the rows just
# updated by 0005 and a schema change do not mix in one transaction.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_order_reference"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="order",
            constraint=models.UniqueConstraint(
                fields=("market", "reference"), name="order_reference_unique"
            ),
        ),
    ]

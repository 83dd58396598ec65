"""Store each order's reference, filled for existing orders from date and number.

The reference used to be computed from the distribution's current date; an
order keeps the one its client was given, even if the distribution moves.
"""

from django.db import migrations, models


def fill_references(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    orders = Order.objects.select_related("distribution").only(
        "pk", "number", "distribution__date"
    )
    batch = []
    for order in orders.iterator(chunk_size=1000):
        order.reference = f"{order.distribution.date:%Y-%m-%d}-{order.number:04d}"
        batch.append(order)
        if len(batch) == 1000:
            Order.objects.bulk_update(batch, ["reference"])
            batch = []
    Order.objects.bulk_update(batch, ["reference"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_producer_stripe_account"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="reference",
            field=models.CharField(
                default="", editable=False, max_length=30, verbose_name="référence"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(fill_references, migrations.RunPython.noop),
    ]

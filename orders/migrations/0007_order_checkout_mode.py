# Each order keeps the payment mode it was taken under. Existing orders with
# a payment choice were taken while the market asked for one; those without
# one were taken in cagnotte mode when the market is in it now, else while
# payments were not managed (the best reading of the past available).

from django.db import migrations, models


def fill_checkout_mode(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    no_choice = Order.objects.filter(payment_method="")
    no_choice.filter(market__cagnotte_mode=True).update(checkout_mode="cagnotte_mode")
    no_choice.filter(market__cagnotte_mode=False).update(checkout_mode="unmanaged")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_order_reference_unique"),
        ("accounts", "0007_membership_last_visited"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="checkout_mode",
            field=models.CharField(
                choices=[
                    ("choice", "le client choisit son paiement"),
                    ("cagnotte_mode", "mode cagnotte du marché"),
                    ("unmanaged", "paiements non gérés par le marché"),
                ],
                default="choice",
                max_length=20,
                verbose_name="mode de paiement à la commande",
            ),
        ),
        migrations.RunPython(fill_checkout_mode, migrations.RunPython.noop),
    ]

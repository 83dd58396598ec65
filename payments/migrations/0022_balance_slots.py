"""A shared account's cached balance kept in parts (`payments.models.BalanceSlot`).

The parts start empty: each shared account's row keeps the balance it had,
and its cached balance is that plus its parts. TRUNCATE of the parts is
refused as for the accounts (0015).
"""

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0021_stripe_calls_by_jobs"),
    ]

    operations = [
        migrations.CreateModel(
            name="BalanceSlot",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("slot", models.PositiveSmallIntegerField()),
                (
                    "balance",
                    models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=14),
                ),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="slots",
                        to="payments.account",
                    ),
                ),
            ],
            options={
                "verbose_name": "part de solde",
                "verbose_name_plural": "parts de solde",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "slot"), name="balance_slot_one_per_part"
                    )
                ],
            },
        ),
        migrations.RunSQL(
            """
            CREATE TRIGGER ledger_balanceslot_no_truncate
                BEFORE TRUNCATE ON payments_balanceslot
                FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate();
            """,
            "DROP TRIGGER IF EXISTS ledger_balanceslot_no_truncate ON payments_balanceslot;",
        ),
    ]

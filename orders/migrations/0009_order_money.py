from django.db import migrations, models

# Per order: its received and expected payments, and the client's side of its
# refunds not reversed (`orders.money`). Each is aggregated once per order, in
# a lateral subquery the outer query joins by the order's id.
ORDER_MONEY = """
CREATE VIEW orders_order_money AS
SELECT o.id AS order_id, pay.received, pay.pending, refund.refunded
FROM orders_order o
CROSS JOIN LATERAL (
    SELECT COALESCE(SUM(p.amount) FILTER (WHERE p.status = 'received'), 0.00) AS received,
           COALESCE(SUM(p.amount) FILTER (WHERE p.status = 'pending'), 0.00) AS pending
    FROM payments_payment p
    WHERE p.order_id = o.id
) pay
CROSS JOIN LATERAL (
    SELECT COALESCE(SUM(e.amount), 0.00) AS refunded
    FROM payments_transaction t
    JOIN payments_entry e ON e.transaction_id = t.id
    JOIN payments_account a ON a.id = e.account_id
    WHERE t.order_id = o.id
      AND t.kind = 'refund'
      AND a.kind = 'client'
      AND NOT EXISTS (SELECT 1 FROM payments_transaction r WHERE r.reverses_id = t.id)
) refund
"""


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_producer_stripe_account_help_text"),
        ("payments", "0021_stripe_calls_by_jobs"),
    ]

    operations = [
        migrations.RunSQL(ORDER_MONEY, "DROP VIEW orders_order_money"),
        migrations.CreateModel(
            name="OrderMoney",
            fields=[
                (
                    "order",
                    models.OneToOneField(
                        on_delete=models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="money",
                        serialize=False,
                        to="orders.order",
                    ),
                ),
                ("received", models.DecimalField(decimal_places=2, max_digits=14)),
                ("pending", models.DecimalField(decimal_places=2, max_digits=14)),
                ("refunded", models.DecimalField(decimal_places=2, max_digits=14)),
            ],
            options={"db_table": "orders_order_money", "managed": False},
        ),
    ]

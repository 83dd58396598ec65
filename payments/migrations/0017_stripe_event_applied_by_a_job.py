"""Stripe events are stored by the webhook and applied by a job: when, how many tries, why not.

Every event stored before was applied in the same transaction: applied when received.
"""

from django.db import migrations, models
from django.db.models import F


def applied_when_received(apps, schema_editor):
    apps.get_model("payments", "StripeEvent").objects.update(applied_at=F("received_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0016_reminder_failed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="stripeevent",
            name="applied_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="appliqué le"),
        ),
        migrations.AddField(
            model_name="stripeevent",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="essais"),
        ),
        migrations.AddField(
            model_name="stripeevent",
            name="last_error",
            field=models.TextField(blank=True, default="", verbose_name="dernière erreur"),
        ),
        migrations.RunPython(applied_when_received, migrations.RunPython.noop),
    ]

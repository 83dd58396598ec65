"""A transfer reminder's state is its email's (accounts.OutgoingEmail).

Reminders recorded before emails were kept had their own ``sent_at`` and
``failed_at``: each one sent or failed gets an email row in that state (its
text was not kept), so that « Virements attendus » still counts it; one asked
for and never sent keeps no email.
"""

from django.db import migrations, models

KEPT = "(texte non conservé : rappel envoyé avant que les emails soient gardés)"


def emails_for_past_reminders(apps, schema_editor):
    PaymentReminder = apps.get_model("payments", "PaymentReminder")
    OutgoingEmail = apps.get_model("accounts", "OutgoingEmail")
    past = PaymentReminder.objects.filter(
        models.Q(sent_at__isnull=False) | models.Q(failed_at__isnull=False)
    ).select_related("payment__membership__user")
    for reminder in past.iterator():
        payment, sent = reminder.payment, reminder.sent_at is not None
        email = OutgoingEmail.objects.create(
            key=f"transfer_reminder:{reminder.pk}",
            about=f"payment:{payment.pk}",
            market_id=payment.market_id,
            user_id=payment.membership.user_id,
            to=payment.membership.user.email,
            subject=f"Rappel : votre virement (référence {payment.reference})",
            body=KEPT,
            status="sent" if sent else "failed",
            attempts=1,
            last_error="" if sent else "not sent",
            sent_at=reminder.sent_at,
        )
        OutgoingEmail.objects.filter(pk=email.pk).update(created_at=reminder.requested_at)
        PaymentReminder.objects.filter(pk=reminder.pk).update(email=email)


def states_back(apps, schema_editor):
    PaymentReminder = apps.get_model("payments", "PaymentReminder")
    for reminder in PaymentReminder.objects.filter(email__isnull=False).select_related("email"):
        reminder.sent_at = reminder.email.sent_at
        reminder.failed_at = reminder.email.created_at if reminder.email.status == "failed" else None
        reminder.save(update_fields=["sent_at", "failed_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_outgoing_email"),
        ("payments", "0016_reminder_failed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentreminder",
            name="email",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="payment_reminder",
                to="accounts.outgoingemail",
                verbose_name="email",
            ),
        ),
        migrations.RunPython(emails_for_past_reminders, states_back),
        migrations.RemoveField(model_name="paymentreminder", name="failed_at"),
        migrations.RemoveField(model_name="paymentreminder", name="sent_at"),
    ]

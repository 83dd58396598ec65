"""A transfer reminder's state is its email's (accounts.OutgoingEmail).

Reminders recorded before emails were kept had their own ``sent_at`` and
``failed_at``: each one sent gets an email row, sent then (its text was not
kept), so that « Virements attendus » still counts it. One asked for and never
sent keeps no email: the page shows it as not sent, and the same form sent
again renders and queues its email afresh (an email row without its text must
never be sent again).
"""

from django.db import migrations, models

KEPT = "(texte non conservé\u00a0: rappel envoyé avant que les emails soient gardés)"


def emails_for_past_reminders(apps, schema_editor):
    PaymentReminder = apps.get_model("payments", "PaymentReminder")
    OutgoingEmail = apps.get_model("accounts", "OutgoingEmail")
    sent = PaymentReminder.objects.filter(sent_at__isnull=False)
    for reminder in sent.select_related("payment__membership__user").iterator():
        payment = reminder.payment
        email = OutgoingEmail.objects.create(
            key=f"transfer_reminder:{reminder.pk}",
            about=f"payment:{payment.pk}",
            market_id=payment.market_id,
            user_id=payment.membership.user_id,
            to=payment.membership.user.email,
            subject=f"Rappel\u00a0: votre virement (référence {payment.reference})",
            body=KEPT,
            status="sent",
            attempts=1,
            sent_at=reminder.sent_at,
        )
        OutgoingEmail.objects.filter(pk=email.pk).update(created_at=reminder.requested_at)
        PaymentReminder.objects.filter(pk=reminder.pk).update(email=email)


def states_back(apps, schema_editor):
    """Sent as its email was; any other reminder, failed when it was asked for."""
    PaymentReminder = apps.get_model("payments", "PaymentReminder")
    for reminder in PaymentReminder.objects.select_related("email"):
        if reminder.email is not None and reminder.email.status == "sent":
            reminder.sent_at = reminder.email.sent_at
        elif reminder.email is None or reminder.email.status == "failed":
            reminder.failed_at = reminder.requested_at
        reminder.save(update_fields=["sent_at", "failed_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_outgoing_email"),
        ("payments", "0019_exports"),
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

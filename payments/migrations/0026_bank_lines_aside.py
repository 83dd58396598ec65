"""A bank line set aside, with why (`payments.models.BankLineAside`)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0013_market_transfer_reminders_auto'),
        ('payments', '0025_bank_matches'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BankLineAside',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.CharField(choices=[('bank_fees', 'Frais bancaires'), ('cheque_deposit', 'Remise de chèques'), ('card_settlement', 'Remise du terminal de paiement'), ('producer_refund', "Remboursement d'un producteur"), ('other', 'Autre')], max_length=20, verbose_name='raison')),
                ('note', models.CharField(blank=True, max_length=200, verbose_name='précision')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('line', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='aside', to='payments.bankline')),
                ('market', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.market')),
            ],
            options={
                'verbose_name': 'ligne mise de côté',
                'verbose_name_plural': 'lignes mises de côté',
            },
        ),
    ]

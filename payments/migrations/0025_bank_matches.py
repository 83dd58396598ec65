"""A bank line confirmed as the payment of an expected transfer (`payments.models.BankMatch`)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0013_market_transfer_reminders_auto'),
        ('payments', '0024_bank_csv_layouts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BankMatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('line', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='matches', to='payments.bankline')),
                ('market', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.market')),
                ('payment', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='bank_match', to='payments.payment')),
            ],
            options={
                'verbose_name': 'rapprochement',
                'verbose_name_plural': 'rapprochements',
            },
        ),
    ]

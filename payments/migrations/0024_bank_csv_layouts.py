"""A market's CSV columns, once said; a CSV file waiting for them (`payments.models.bank`)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0013_market_transfer_reminders_auto'),
        ('payments', '0023_bank_statements'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BankCsvLayout',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('encoding', models.CharField(max_length=20)),
                ('delimiter', models.CharField(max_length=1)),
                ('date_column', models.CharField(max_length=100, verbose_name='colonne de la date')),
                ('label_column', models.CharField(max_length=100, verbose_name='colonne du libellé')),
                ('amount_column', models.CharField(blank=True, max_length=100, verbose_name='colonne du montant')),
                ('debit_column', models.CharField(blank=True, max_length=100, verbose_name='colonne des débits')),
                ('credit_column', models.CharField(blank=True, max_length=100, verbose_name='colonne des crédits')),
                ('date_format', models.CharField(default='%d/%m/%Y', max_length=20, verbose_name='format des dates')),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('market', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='bank_csv_layout', to='accounts.market')),
                ('updated_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'colonnes du relevé CSV',
                'verbose_name_plural': 'colonnes des relevés CSV',
            },
        ),
        migrations.CreateModel(
            name='StatementUpload',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('filename', models.CharField(blank=True, max_length=200)),
                ('data', models.BinaryField()),
                ('header', models.JSONField(default=list)),
                ('encoding', models.CharField(max_length=20)),
                ('delimiter', models.CharField(max_length=1)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('market', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.market')),
                ('uploaded_by', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
        ),
    ]

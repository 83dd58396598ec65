"""The market's bank statements and their lines (`payments.models.bank`).

Both are append-only, as the ledger is: UPDATE and DELETE are refused by the
ledger's trigger function (0002), TRUNCATE too (0015).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0013_market_transfer_reminders_auto'),
        ('payments', '0022_balance_slots'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BankStatement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('format', models.CharField(choices=[('camt053', 'CAMT.053'), ('ofx', 'OFX'), ('cfonb120', 'CFONB 120'), ('csv', 'CSV')], max_length=10, verbose_name='format')),
                ('filename', models.CharField(blank=True, max_length=200, verbose_name='fichier')),
                ('digest', models.CharField(help_text='SHA-256 du fichier importé.', max_length=64)),
                ('account', models.CharField(blank=True, max_length=64, verbose_name='compte')),
                ('currency', models.CharField(blank=True, max_length=3, verbose_name='devise')),
                ('opening', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True, verbose_name="solde d'ouverture")),
                ('closing', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True, verbose_name='solde de clôture')),
                ('opening_on', models.DateField(blank=True, null=True)),
                ('closing_on', models.DateField(blank=True, null=True)),
                ('lines_in_file', models.PositiveIntegerField(default=0)),
                ('lines_total', models.DecimalField(decimal_places=2, default=0, help_text='Somme des lignes du fichier.', max_digits=14)),
                ('imported_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('imported_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('market', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='bank_statements', to='accounts.market')),
            ],
            options={
                'verbose_name': 'relevé bancaire',
                'verbose_name_plural': 'relevés bancaires',
                'ordering': ['-imported_at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='BankLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveIntegerField(help_text='Rang de la ligne dans son relevé.')),
                ('fingerprint', models.CharField(max_length=200)),
                ('booked_on', models.DateField(verbose_name='date')),
                ('value_on', models.DateField(blank=True, null=True, verbose_name='date de valeur')),
                ('amount', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='montant')),
                ('label', models.TextField(verbose_name='libellé')),
                ('bank_id', models.CharField(blank=True, max_length=140)),
                ('payer', models.CharField(blank=True, max_length=140, verbose_name='émetteur')),
                ('reference', models.TextField(blank=True, verbose_name='référence')),
                ('market', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='bank_lines', to='accounts.market')),
                ('statement', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='lines', to='payments.bankstatement')),
            ],
            options={
                'verbose_name': 'ligne bancaire',
                'verbose_name_plural': 'lignes bancaires',
                'ordering': ['-booked_on', '-pk'],
                'indexes': [models.Index(fields=['market', 'booked_on'], name='payments_ba_market__8dd208_idx')],
                'constraints': [models.UniqueConstraint(fields=('market', 'fingerprint'), name='bank_line_once_per_market'), models.CheckConstraint(condition=models.Q(('amount', 0), _negated=True), name='bank_line_not_zero')],
            },
        ),
        migrations.RunSQL(
            """
            CREATE TRIGGER bank_statement_append_only
                BEFORE UPDATE OR DELETE ON payments_bankstatement
                FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
            CREATE TRIGGER bank_line_append_only
                BEFORE UPDATE OR DELETE ON payments_bankline
                FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
            CREATE TRIGGER bank_statement_no_truncate
                BEFORE TRUNCATE ON payments_bankstatement
                FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate();
            CREATE TRIGGER bank_line_no_truncate
                BEFORE TRUNCATE ON payments_bankline
                FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate();
            """,
            """
            DROP TRIGGER IF EXISTS bank_line_no_truncate ON payments_bankline;
            DROP TRIGGER IF EXISTS bank_statement_no_truncate ON payments_bankstatement;
            DROP TRIGGER IF EXISTS bank_line_append_only ON payments_bankline;
            DROP TRIGGER IF EXISTS bank_statement_append_only ON payments_bankstatement;
            """,
        ),
    ]

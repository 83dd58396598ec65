"""A cheque deposit or the card terminal's settlement, posted from that account to the bank's (`payments.bank.aside`)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0026_bank_lines_aside'),
    ]

    operations = [
        migrations.AddField(
            model_name='banklineaside',
            name='transaction',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='bank_aside', to='payments.transaction'),
        ),
        migrations.AlterField(
            model_name='transaction',
            name='kind',
            field=models.CharField(choices=[('order', 'Commande'), ('order_adjustment', 'Ajustement de commande'), ('payment', 'Paiement'), ('refund', 'Remboursement'), ('opening_balance', 'Reprise de solde'), ('reversal', 'Annulation'), ('producer_transfer', 'Versement au producteur'), ('deposit', 'Remise en banque')], max_length=20),
        ),
    ]

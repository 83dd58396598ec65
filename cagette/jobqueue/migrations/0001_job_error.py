# The last error of each job, kept by the workers.

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='JobError',
            fields=[
                ('job_id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('task_name', models.CharField(max_length=128)),
                ('error', models.TextField()),
                ('at', models.DateTimeField()),
            ],
            options={
                'verbose_name': 'erreur de tâche',
                'verbose_name_plural': 'erreurs de tâches',
                'db_table': 'cagette_job_error',
            },
        ),
    ]

"""Email addresses are stored in lower case, and unique whatever their case.

Existing addresses are lowercased first. If two accounts differ only by the
case of their address, lowercasing would merge two people into one login:
the migration stops and names them, so someone decides which one to keep.
"""

from collections import defaultdict

from django.db import migrations, models
from django.db.models.functions import Lower


def lowercase_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    # In Python, not SQL: the same lower case as the app's (str.lower).
    users = list(User.objects.only("pk", "email").iterator())
    owners = defaultdict(list)
    for user in users:
        owners[user.email.strip().lower()].append(user.email)
    clashes = sorted(email for email, emails in owners.items() if len(emails) > 1)
    if clashes:
        raise RuntimeError(
            "These addresses belong to several accounts once lowercased; merge or rename "
            f"them, then migrate again: {', '.join(clashes)}"
        )
    for user in users:
        lowered = user.email.strip().lower()
        if lowered != user.email:
            User.objects.filter(pk=user.pk).update(email=lowered)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_market_commission"),
    ]

    operations = [
        migrations.RunPython(lowercase_emails, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                Lower("email"),
                name="user_email_lower_unique",
                violation_error_message="Un compte existe déjà avec cette adresse e-mail.",
            ),
        ),
    ]

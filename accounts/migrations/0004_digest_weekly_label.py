from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_digest_subscriptions"),
    ]

    operations = [
        # The weekly day comes from DIGEST_WEEKLY_DAY at display time (accounts.models.frequency_choices).
        migrations.AlterField(
            model_name="digestsubscription",
            name="frequency",
            field=models.CharField(
                choices=[("daily", "Daily (weekdays)"), ("weekly", "Weekly")],
                default="daily",
                max_length=8,
            ),
        ),
    ]

"""Issue 11: the digest log goes to digests, submissions and harvest checkpoints to
ingest (their 0001 migrations take them over first), and PendingVote comes here from
accounts (it is dropped from accounts' state in accounts 0005, after this). State
only: no table is created, dropped or renamed, so every row stays."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0009_paper_visible_sort_keys"),
        ("accounts", "0004_digest_weekly_label"),
        ("digests", "0001_initial"),
        ("ingest", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PendingVote",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("next_url", models.CharField(blank=True, max_length=2000)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "paper",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="papers.paper",
                            ),
                        ),
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="pending_vote",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_pendingvote",
                    },
                ),
                migrations.RemoveField(
                    model_name="digestdelivery",
                    name="subscription",
                ),
                migrations.RemoveField(
                    model_name="digestsentpaper",
                    name="subscription",
                ),
                migrations.DeleteModel(
                    name="HarvestCheckpoint",
                ),
                migrations.RemoveField(
                    model_name="submission",
                    name="paper",
                ),
                migrations.RemoveField(
                    model_name="submission",
                    name="user",
                ),
                migrations.DeleteModel(
                    name="DigestDelivery",
                ),
                migrations.DeleteModel(
                    name="DigestSentPaper",
                ),
                migrations.DeleteModel(
                    name="Submission",
                ),
            ],
            database_operations=[],
        ),
    ]

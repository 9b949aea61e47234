"""Submission and HarvestCheckpoint, moved here from papers in issue 11. State only:
the tables keep their names (db_table papers_*) and every row; papers 0010 drops them
from papers' state after this."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("papers", "0009_paper_visible_sort_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="HarvestCheckpoint",
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
                        ("window", models.CharField(max_length=255, unique=True)),
                        ("token", models.TextField()),
                        ("pages", models.PositiveIntegerField(default=0)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "db_table": "papers_harvestcheckpoint",
                    },
                ),
                migrations.CreateModel(
                    name="Submission",
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
                        ("arxiv_id", models.CharField(max_length=64)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Fetching from arXiv"),
                                    ("featured", "Added to the daily list"),
                                    ("already_featured", "Already featured"),
                                    ("failed", "Could not be added"),
                                ],
                                default="pending",
                                max_length=20,
                            ),
                        ),
                        ("message", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "paper",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="submissions",
                                to="papers.paper",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="submissions",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "papers_submission",
                        "indexes": [
                            models.Index(fields=["user", "-created_at"], name="submission_by_user")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

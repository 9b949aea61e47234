"""Papers sent in digests move from each delivery's paper_ids to DigestSentPaper (one
row per subscription and paper, kept however old), and deliveries get a `queued`
status for the planner (papers.digests.sending)."""

import django.db.models.deletion
from django.db import migrations, models


def copy_sent_papers(apps, schema_editor):
    DigestDelivery = apps.get_model("papers", "DigestDelivery")
    DigestSentPaper = apps.get_model("papers", "DigestSentPaper")
    db = schema_editor.connection.alias  # the database being migrated, not always default
    rows = (
        DigestDelivery.objects.using(db)
        .exclude(paper_ids=[])
        .values_list("subscription_id", "paper_ids")
        .iterator(chunk_size=2000)
    )
    pairs = []
    for subscription_id, paper_ids in rows:
        pairs += [DigestSentPaper(subscription_id=subscription_id, paper_id=p) for p in paper_ids]
        if len(pairs) >= 10_000:
            DigestSentPaper.objects.using(db).bulk_create(pairs, ignore_conflicts=True)
            pairs = []
    DigestSentPaper.objects.using(db).bulk_create(pairs, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_digest_subscriptions"),
        ("papers", "0005_digest_deliveries"),
    ]

    operations = [
        migrations.CreateModel(
            name="DigestSentPaper",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "subscription",
                        "paper_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "subscription",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.digestsubscription",
                    ),
                ),
                ("paper_id", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(copy_sent_papers, migrations.RunPython.noop, elidable=True),
        migrations.RemoveIndex(model_name="digestdelivery", name="digest_history"),
        migrations.RemoveField(model_name="digestdelivery", name="paper_ids"),
        migrations.AlterField(
            model_name="digestdelivery",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued (batch task pending)"),
                    ("claimed", "Claimed (sending)"),
                    ("sent", "Sent"),
                    ("failed", "Failed"),
                    ("skipped", "Skipped (nothing new)"),
                ],
                default="claimed",
                max_length=8,
            ),
        ),
    ]

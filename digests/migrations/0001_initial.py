"""The digest models, moved here from accounts (subscriptions, follows) and papers
(deliveries, sent papers) in issue 11. State only: the tables keep their names
(db_table) and every row; accounts 0005 and papers 0010 drop the models from their old
apps' state after this."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import digests.models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0004_digest_weekly_label"),
        ("papers", "0009_paper_visible_sort_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DigestSubscription",
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
                        (
                            "email",
                            models.EmailField(
                                help_text="Stored lower-cased (normalise_email)",
                                max_length=254,
                                unique=True,
                            ),
                        ),
                        (
                            "frequency",
                            models.CharField(
                                choices=[("daily", "Daily (weekdays)"), ("weekly", "Weekly")],
                                default="daily",
                                max_length=8,
                            ),
                        ),
                        (
                            "send_hour",
                            models.PositiveSmallIntegerField(
                                blank=True,
                                help_text="Local hour to send at; empty for the site default (DIGEST_SEND_HOUR)",
                                null=True,
                                validators=[django.core.validators.MaxValueValidator(23)],
                            ),
                        ),
                        (
                            "time_zone",
                            models.CharField(
                                blank=True,
                                help_text="IANA name, e.g. Europe/Paris; empty for DIGEST_TIME_ZONE",
                                max_length=64,
                                validators=[digests.models.validate_time_zone],
                            ),
                        ),
                        ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                        ("confirmation_sent_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "confirmations_sent",
                            models.PositiveSmallIntegerField(
                                default=0,
                                help_text="Confirmation mails since the address was last confirmed",
                            ),
                        ),
                        ("paused_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "pause_reason",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("unsubscribed", "Unsubscribed"),
                                    ("bounced", "Address bounced"),
                                ],
                                max_length=16,
                            ),
                        ),
                        (
                            "pause_detail",
                            models.TextField(
                                blank=True, help_text="e.g. the SMTP reply of a bounce"
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "user",
                            models.OneToOneField(
                                blank=True,
                                help_text="Empty for a visitor who subscribed with an address only",
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="digest_subscription",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_digestsubscription",
                    },
                ),
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
                        ("paper_id", models.BigIntegerField()),
                        (
                            "subscription",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="digests.digestsubscription",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "papers_digestsentpaper",
                    },
                ),
                migrations.CreateModel(
                    name="DigestDelivery",
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
                        ("period", models.CharField(max_length=16)),
                        ("frequency", models.CharField(max_length=8)),
                        (
                            "status",
                            models.CharField(
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
                        ("attempts", models.PositiveSmallIntegerField(default=1)),
                        ("claimed_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "next_attempt_at",
                            models.DateTimeField(
                                blank=True,
                                help_text="A failed delivery is retried after this; empty: never",
                                null=True,
                            ),
                        ),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("error", models.TextField(blank=True)),
                        ("sections", models.JSONField(blank=True, default=list)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "subscription",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="deliveries",
                                to="digests.digestsubscription",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "digest deliveries",
                        "db_table": "papers_digestdelivery",
                    },
                ),
                migrations.CreateModel(
                    name="FollowedAuthor",
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
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "author",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="followers",
                                to="papers.author",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="followed_authors",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_followedauthor",
                        "ordering": ["author__name"],
                    },
                ),
                migrations.CreateModel(
                    name="FollowedCategory",
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
                        (
                            "category",
                            models.CharField(
                                max_length=32,
                                validators=[
                                    django.core.validators.RegexValidator(
                                        "^[a-z][a-z\\-]*(\\.([A-Za-z][A-Za-z\\-]*|\\*))?$",
                                        "Use an arXiv category such as cs.CL, math.PR, hep-th, or a whole archive as cs.*",
                                    )
                                ],
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "user",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="followed_categories",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "followed categories",
                        "db_table": "accounts_followedcategory",
                        "ordering": ["category"],
                    },
                ),
                migrations.CreateModel(
                    name="FollowedKeyword",
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
                        ("keyword", models.CharField(max_length=100)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "user",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="followed_keywords",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_followedkeyword",
                        "ordering": ["keyword"],
                    },
                ),
                migrations.AddIndex(
                    model_name="digestsubscription",
                    index=models.Index(
                        condition=models.Q(
                            ("confirmed_at__isnull", False), ("paused_at__isnull", True)
                        ),
                        fields=["time_zone", "frequency"],
                        name="digest_sub_receiving",
                    ),
                ),
                migrations.AddIndex(
                    model_name="digestdelivery",
                    index=models.Index(fields=["status", "claimed_at"], name="digest_by_status"),
                ),
                migrations.AddConstraint(
                    model_name="digestdelivery",
                    constraint=models.UniqueConstraint(
                        fields=("subscription", "period"),
                        name="one_digest_per_subscription_per_period",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="followedauthor",
                    constraint=models.UniqueConstraint(
                        fields=("user", "author"), name="follow_author_once"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="followedcategory",
                    constraint=models.UniqueConstraint(
                        fields=("user", "category"), name="follow_category_once"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="followedkeyword",
                    constraint=models.UniqueConstraint(
                        fields=("user", "keyword"), name="follow_keyword_once"
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]

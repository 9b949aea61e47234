"""Issue 11: subscriptions and follows now belong to digests (its 0001), pending votes
to papers (its 0010). After papers 0010, whose deliveries referred to the
subscriptions. State only: the tables (accounts_*) keep their names and every row."""

from django.db import migrations

# Every model issue 11 moved: (old app, model) -> new app. Their content types move with
# them, so permissions given to groups and the admin's history keep pointing at them.
MOVED = {
    ("accounts", "digestsubscription"): "digests",
    ("accounts", "followedauthor"): "digests",
    ("accounts", "followedcategory"): "digests",
    ("accounts", "followedkeyword"): "digests",
    ("papers", "digestdelivery"): "digests",
    ("papers", "digestsentpaper"): "digests",
    ("papers", "submission"): "ingest",
    ("papers", "harvestcheckpoint"): "ingest",
    ("accounts", "pendingvote"): "papers",
}


def move_content_types(apps, schema_editor, moves=MOVED):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_types = content_type.objects.using(schema_editor.connection.alias)
    for (old_app, model), new_app in moves.items():
        # A new one exists if the new app's migrations ran with post_migrate in between
        # (a test database): then the old one is left as it is.
        if not content_types.filter(app_label=new_app, model=model).exists():
            content_types.filter(app_label=old_app, model=model).update(app_label=new_app)


def restore_content_types(apps, schema_editor):
    back = {(new_app, model): old_app for (old_app, model), new_app in MOVED.items()}
    move_content_types(apps, schema_editor, back)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_digest_weekly_label"),
        ("papers", "0010_move_models_to_their_apps"),
        ("digests", "0001_initial"),
        ("ingest", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="followedauthor",
                    name="author",
                ),
                migrations.RemoveField(
                    model_name="followedauthor",
                    name="user",
                ),
                migrations.RemoveField(
                    model_name="followedcategory",
                    name="user",
                ),
                migrations.RemoveField(
                    model_name="followedkeyword",
                    name="user",
                ),
                migrations.RemoveField(
                    model_name="pendingvote",
                    name="paper",
                ),
                migrations.RemoveField(
                    model_name="pendingvote",
                    name="user",
                ),
                migrations.DeleteModel(
                    name="DigestSubscription",
                ),
                migrations.DeleteModel(
                    name="FollowedAuthor",
                ),
                migrations.DeleteModel(
                    name="FollowedCategory",
                ),
                migrations.DeleteModel(
                    name="FollowedKeyword",
                ),
                migrations.DeleteModel(
                    name="PendingVote",
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]

"""search.SearchWord, the vocabulary of "did you mean" (search.spelling), with pg_trgm's
trigram GIN index on its words. pg_trgm ships with PostgreSQL (contrib) and is a trusted
extension: a database owner may create it without being a superuser. On SQLite the
table is made and stays empty (no trigram matching there). The table is filled by
`manage.py refresh_search_words` (and daily by beat), not here: at a million papers it
reads every title (about 30 s)."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

INDEX = "CREATE INDEX search_word_trigram ON search_searchword USING gin (word gin_trgm_ops)"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_word_trigram")


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        TrigramExtension(),
        migrations.CreateModel(
            name="SearchWord",
            fields=[
                ("word", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("papers", models.PositiveIntegerField()),
            ],
            options={"verbose_name": "search word"},
        ),
        migrations.RunPython(create_index, drop_index),
    ]

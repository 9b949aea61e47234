"""PostgreSQL-only parts of the schema, invisible to the model state:

- search_vector: a generated tsvector over title (A), authors (B) and abstract (C),
  with a GIN index, for /search/;
- a GIN index on categories for category filters (jsonb @>).

On SQLite (the embedded default) these are skipped and search falls back to LIKE.
"""

from django.db import migrations


class PostgresOnlySQL(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("papers", "0001_initial")]

    operations = [
        PostgresOnlySQL(
            sql="""
            ALTER TABLE papers_paper ADD COLUMN search_vector tsvector
              GENERATED ALWAYS AS (
                setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||
                setweight(to_tsvector('simple'::regconfig, coalesce(author_names, '')), 'B') ||
                setweight(to_tsvector('english'::regconfig, coalesce(abstract, '')), 'C')
              ) STORED;
            CREATE INDEX paper_search ON papers_paper USING gin (search_vector);
            CREATE INDEX paper_categories ON papers_paper USING gin (categories jsonb_path_ops);
            """,
            reverse_sql="""
            DROP INDEX IF EXISTS paper_categories;
            DROP INDEX IF EXISTS paper_search;
            ALTER TABLE papers_paper DROP COLUMN IF EXISTS search_vector;
            """,
        ),
    ]

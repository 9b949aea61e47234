"""Search vectors move out of papers_paper into papers_searchdocument (issue 6).

The generated search_vector column of 0002 went to TOAST with the abstract, so every
match read for ranking cost a TOAST lookup; in a narrow table of its own the vector is
stored inline (see papers.models.SearchDocument). PostgreSQL keeps it up to date with
triggers on the paper's title, abstract and author_names, and deletes it with its paper
(ON DELETE CASCADE). The GIN index keeps its name, paper_search.

On SQLite only the (unused) table is created: search falls back to LIKE there.
"""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

VECTOR = """
    setweight(to_tsvector('english'::regconfig, coalesce(NEW.title, '')), 'A') ||
    setweight(to_tsvector('simple'::regconfig, coalesce(NEW.author_names, '')), 'B') ||
    setweight(to_tsvector('english'::regconfig, coalesce(NEW.abstract, '')), 'C')
"""

FORWARDS = f"""
INSERT INTO papers_searchdocument (paper_id, vector) SELECT id, search_vector FROM papers_paper;
DROP INDEX IF EXISTS paper_search;
ALTER TABLE papers_paper DROP COLUMN search_vector;
CREATE INDEX paper_search ON papers_searchdocument USING gin (vector);
-- Without statistics the planner takes the commonest word for a rare one and reads all
-- of its matches from the index instead of stopping at the first ones.
ANALYZE papers_searchdocument;
ALTER TABLE papers_searchdocument ADD CONSTRAINT papers_searchdocument_paper_id_fk
  FOREIGN KEY (paper_id) REFERENCES papers_paper (id) ON DELETE CASCADE
  DEFERRABLE INITIALLY DEFERRED;

CREATE FUNCTION papers_write_search_document() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO papers_searchdocument (paper_id, vector) VALUES (NEW.id, {VECTOR})
  ON CONFLICT (paper_id) DO UPDATE SET vector = EXCLUDED.vector;
  RETURN NULL;
END
$$;
CREATE TRIGGER paper_search_document_insert AFTER INSERT ON papers_paper
  FOR EACH ROW EXECUTE FUNCTION papers_write_search_document();
CREATE TRIGGER paper_search_document_update AFTER UPDATE OF title, abstract, author_names
  ON papers_paper FOR EACH ROW
  WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.abstract IS DISTINCT FROM NEW.abstract
        OR OLD.author_names IS DISTINCT FROM NEW.author_names)
  EXECUTE FUNCTION papers_write_search_document();
"""

BACKWARDS = """
DROP TRIGGER IF EXISTS paper_search_document_update ON papers_paper;
DROP TRIGGER IF EXISTS paper_search_document_insert ON papers_paper;
DROP FUNCTION IF EXISTS papers_write_search_document();
DROP INDEX IF EXISTS paper_search;
ALTER TABLE papers_paper ADD COLUMN search_vector tsvector
  GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||
    setweight(to_tsvector('simple'::regconfig, coalesce(author_names, '')), 'B') ||
    setweight(to_tsvector('english'::regconfig, coalesce(abstract, '')), 'C')
  ) STORED;
CREATE INDEX paper_search ON papers_paper USING gin (search_vector);
DELETE FROM papers_searchdocument;
"""


class PostgresOnlySQL(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0007_harvest_checkpoint"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                (
                    "paper",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="papers.paper",
                    ),
                ),
                ("vector", django.contrib.postgres.search.SearchVectorField(null=True)),
            ],
        ),
        PostgresOnlySQL(sql=FORWARDS, reverse_sql=BACKWARDS),
    ]

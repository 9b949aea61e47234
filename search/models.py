from django.db import connection, models, transaction

from papers.models import Paper


class SearchWordManager(models.Manager):
    def rebuild(self) -> int:
        """Replace the vocabulary with the words of every visible paper's title, counted
        by paper; returns how many words. One transaction: searches read the old words
        until it commits. PostgreSQL only (0 elsewhere): its ts_stat counts them."""
        if connection.vendor != "postgresql":
            return 0
        papers = Paper._meta.db_table
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self.model._meta.db_table}")
            # 'simple': words as written (lower-cased), not stemmed, so that a
            # suggestion reads as a word ("models", not "model" for both).
            cursor.execute(
                f"""
                INSERT INTO {self.model._meta.db_table} (word, papers)
                SELECT word, ndoc FROM ts_stat(
                    'SELECT to_tsvector(''simple'', title) FROM {papers} WHERE NOT is_hidden'
                )
                WHERE word ~ '^[[:alpha:]]{{3,64}}$'
                """
            )
            return cursor.rowcount


class SearchWord(models.Model):
    """A word of the papers' titles and in how many visible papers' titles it appears:
    the vocabulary "did you mean" corrects a misspelled query word against
    (search.spelling). Derived data, rebuilt by SearchWord.objects.rebuild() (the
    refresh_search_words command; daily by beat). PostgreSQL only: pg_trgm's trigram
    index on `word` (migration 0001) finds the words like a misspelled one; on SQLite
    the table stays empty."""

    word = models.CharField(max_length=64, primary_key=True)
    papers = models.PositiveIntegerField()

    objects = SearchWordManager()

    class Meta:
        verbose_name = "search word"

    def __str__(self):
        return self.word

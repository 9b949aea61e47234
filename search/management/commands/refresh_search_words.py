import time

from django.core.management.base import BaseCommand
from django.db import connection

from search.models import SearchWord


class Command(BaseCommand):
    help = "Rebuild the vocabulary that corrects misspelled search words (did you mean)."

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("Spelling correction needs PostgreSQL (pg_trgm): nothing to do.")
            return
        started = time.monotonic()
        count = SearchWord.objects.rebuild()
        self.stdout.write(f"{count} title words in {time.monotonic() - started:.1f} s.")

"""Rewrite TeX accents stored in titles and abstracts (R\\'{e}nyi -> Rényi) as ingestion
now does (ingest.text.accents_outside_math): `manage.py resolve_tex_accents`.
For rows stored before that rule. Idempotent; reads in primary-key batches and writes
only rows that change, so it can run on a live site and be stopped and run again."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q

from ingest.text import accents_outside_math
from papers.models import Paper

BATCH = 1000


class Command(BaseCommand):
    help = "Resolve TeX accents in stored titles and abstracts (outside math)."

    def handle(self, *args, **options):
        candidates = Paper.objects.filter(Q(title__contains="\\") | Q(abstract__contains="\\"))
        last_pk, seen, changed = 0, 0, 0
        while True:
            rows = list(
                candidates.filter(pk__gt=last_pk)
                .order_by("pk")
                .only("pk", "title", "abstract")[:BATCH]
            )
            if not rows:
                break
            last_pk = rows[-1].pk
            seen += len(rows)
            fixed = []
            for paper in rows:
                title = accents_outside_math(paper.title)
                abstract = accents_outside_math(paper.abstract)
                if (title, abstract) != (paper.title, paper.abstract):
                    paper.title, paper.abstract = title, abstract
                    fixed.append(paper)
            if fixed:
                with transaction.atomic():
                    Paper.objects.bulk_update(fixed, ["title", "abstract"])
            changed += len(fixed)
        self.stdout.write(f"{changed} of {seen} papers with TeX commands changed.")

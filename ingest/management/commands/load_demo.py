import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from ingest import demo, demo_archive


class Command(BaseCommand):
    help = (
        "Load demo data made of real papers (ingest/fixtures/demo/): two weeks of daily "
        "lists ending today, demo users and votes, and an archive of 3,403 papers from two "
        "years of Hugging Face daily lists. Does nothing if the demo is loaded."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the demo even if the database already holds other papers.",
        )

    def handle(self, *args, force=False, verbosity=1, **options):
        self.stdout.write(demo.load(force=force))
        # A demo loaded before the archive existed gets it too; a database that refused
        # the demo refuses the archive.
        if not demo.is_loaded() or demo_archive.is_loaded():
            return
        with tqdm(
            total=len(demo_archive.archive_ids()),
            desc="demo archive",
            unit=" papers",
            file=sys.stderr,
            disable=verbosity < 1,
            dynamic_ncols=True,
        ) as bar:
            result, votes = demo_archive.load(on_item=lambda _item: bar.update())
        for error in result.errors:
            self.stderr.write(f"failed: {error}")
        self.stdout.write(
            f"Demo archive loaded: {result.created} papers from Hugging Face daily lists "
            f"({result.summary()}), {votes} votes."
        )

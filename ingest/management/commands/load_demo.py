from django.core.management.base import BaseCommand

from ingest import demo


class Command(BaseCommand):
    help = (
        "Load demo data made of real papers (ingest/fixtures/demo/): two weeks of daily "
        "lists ending today, demo users and votes. Does nothing if the demo is loaded."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the demo even if the database already holds other papers.",
        )

    def handle(self, *args, force=False, **options):
        self.stdout.write(demo.load(force=force))

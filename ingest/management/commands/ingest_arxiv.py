from django.conf import settings

from ingest import arxiv

from ._ingest import IngestCommand, iso_date


class Command(IngestCommand):
    help = (
        "Fetch new papers from the arXiv API by category and submission date (default: "
        "settings.ARXIV_CATEGORIES, the last ARXIV_LOOKBACK_DAYS days), or read saved "
        "API responses with --file."
    )
    source = "arXiv API"

    def add_arguments(self, parser):
        parser.add_argument(
            "--category",
            action="append",
            dest="categories",
            metavar="C",
            help="an arXiv category, e.g. cs.LG (repeat for several)",
        )
        parser.add_argument(
            "--since", type=iso_date, metavar="DATE", help="submitted on or after (YYYY-MM-DD)"
        )
        parser.add_argument(
            "--file",
            action="append",
            dest="files",
            metavar="PATH",
            help="read a saved Atom response instead of fetching (repeatable)",
        )

    def run(self, categories=None, since=None, files=None, **options):
        if files:
            self.finish(*(self.ingest(arxiv.read_file(path)) for path in files))
            return
        categories = categories or settings.ARXIV_CATEGORIES
        self.stderr.write(f"Fetching {', '.join(categories)} from {settings.ARXIV_API_URL}")
        self.finish(self.ingest(arxiv.fetch_new(categories, since)))

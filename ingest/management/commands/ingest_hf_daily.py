from django.conf import settings

from ingest import hf

from ._ingest import IngestCommand, iso_date


class Command(IngestCommand):
    help = (
        "Fetch a Hugging Face daily papers list (default: the latest) and feature its "
        "papers on that day, or read a saved response with --file."
    )
    source = "Hugging Face daily papers"

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            type=iso_date,
            metavar="D",
            help="the list's day (YYYY-MM-DD); for a saved 2024-shape file, the day its "
            "papers are featured",
        )
        parser.add_argument(
            "--file",
            action="append",
            dest="files",
            metavar="PATH",
            help="read a saved response instead of fetching (repeatable)",
        )

    def run(self, date=None, files=None, **options):
        if files:
            self.finish(*(self.ingest(hf.read_file(path, list_date=date)) for path in files))
            return
        self.stderr.write(
            f"Fetching {date or 'the latest list'} from {settings.HF_DAILY_PAPERS_URL}"
        )
        self.finish(self.ingest(hf.fetch(date)))

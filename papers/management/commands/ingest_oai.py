from django.conf import settings

from papers.ingest import oai

from ._ingest import IngestCommand, iso_date


class Command(IngestCommand):
    help = (
        "Harvest papers through arXiv's OAI-PMH interface (ListRecords, following "
        "resumption tokens), or read saved OAI-PMH responses with --file."
    )
    source = "arXiv OAI-PMH"

    def add_arguments(self, parser):
        parser.add_argument(
            "--from",
            type=iso_date,
            dest="from_date",
            metavar="DATE",
            help="records changed on or after (YYYY-MM-DD)",
        )
        parser.add_argument(
            "--until", type=iso_date, metavar="DATE", help="records changed on or before"
        )
        parser.add_argument(
            "--set", dest="set_spec", metavar="SET", help="e.g. cs or physics:hep-th"
        )
        parser.add_argument(
            "--format",
            dest="metadata_prefix",
            choices=oai.FORMATS,
            default="arXiv",
            help="metadataPrefix: arXiv, or arXivRaw for the version history",
        )
        parser.add_argument(
            "--file",
            action="append",
            dest="files",
            metavar="PATH",
            help="read a saved OAI-PMH response instead of fetching (repeatable)",
        )

    def run(
        self,
        from_date=None,
        until=None,
        set_spec=None,
        metadata_prefix="arXiv",
        files=None,
        **options,
    ):
        if files:
            self.finish(*(self.ingest(oai.read_file(path)) for path in files))
            return
        self.stderr.write(f"Harvesting {metadata_prefix} records from {settings.ARXIV_OAI_URL}")
        records = oai.harvest(
            metadata_prefix=metadata_prefix, from_date=from_date, until=until, set_spec=set_spec
        )
        self.finish(self.ingest(records, keep_ids=False))

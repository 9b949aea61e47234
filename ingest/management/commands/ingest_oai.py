from django.conf import settings

from ingest import oai

from ._ingest import IngestCommand, iso_date


class Command(IngestCommand):
    help = (
        "Harvest papers through arXiv's OAI-PMH interface (ListRecords, following "
        "resumption tokens), or read saved OAI-PMH responses with --file. A harvest "
        "that stopped (an error, a crash) continues from its last checkpoint when run "
        "again with the same --from/--until/--set/--format; --restart starts over."
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
            "--restart",
            action="store_true",
            help="ignore this window's checkpoint and harvest it from the beginning",
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
        restart=False,
        **options,
    ):
        if files:
            self.finish(*(self.ingest(oai.read_file(path)) for path in files))
            return
        run = oai.Harvest(
            metadata_prefix=metadata_prefix,
            from_date=from_date,
            until=until,
            set_spec=set_spec,
            resume=not restart,
        )
        self.stderr.write(f"Harvesting {metadata_prefix} records from {settings.ARXIV_OAI_URL}")
        if run.resumed:
            self.stderr.write(
                f"Resuming at page {run.pages + 1}, where the last harvest of this window "
                f"stopped ({run.resumed.updated_at:%Y-%m-%d %H:%M} UTC); --restart starts over"
            )
        result = self.ingest(
            run,
            keep_ids=False,
            mark=lambda: run.position,
            on_batch=lambda _result, token: run.save(token),
        )
        if run.finished:
            run.clear()
        elif run.position:
            self.stderr.write(
                f"Stopped at page {run.pages + 1}; run the same command again to continue."
            )
        self.finish(result)

from pathlib import Path

from django.core.management.base import CommandError

from ingest import snapshot

from ._ingest import IngestCommand


class Command(IngestCommand):
    help = (
        "Import arXiv's metadata snapshot (JSON lines, optionally .gz), streamed in "
        "batches of one transaction each. Re-running is safe (an idempotent upsert); "
        "--resume also skips what a previous run committed."
    )
    source = "arXiv snapshot"

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH", help="arxiv-metadata-oai-snapshot.json(.gz)")
        parser.add_argument(
            "--limit", type=int, metavar="N", help="import the first N records only"
        )
        parser.add_argument(
            "--resume",
            action="store_true",
            help="continue after the last batch a previous run committed (PATH.checkpoint)",
        )
        parser.add_argument("--batch-size", type=int, default=2000, metavar="N")

    def run(self, path, limit=None, resume=False, batch_size=2000, **options):
        path = Path(path)
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        reader = snapshot.SnapshotReader(path)
        start = reader.load_checkpoint() if resume else None
        if resume:
            where = f"line {start.line + 1}" if start else "the start (no checkpoint)"
            self.stderr.write(f"Resuming {path.name} from {where}")
        # Progress in bytes read (a record count would need a pass over the file first).
        bar = self.progress(
            total=None if reader.gzipped else reader.size,
            initial=start.offset if start and not reader.gzipped else 0,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=path.name,
        )
        shown = bar.n

        def on_item(_item):
            nonlocal shown
            bar.update(reader.position.offset - shown)
            shown = reader.position.offset

        try:
            result = snapshot.import_file(
                path,
                limit=limit,
                resume=resume,
                batch_size=batch_size,
                on_item=on_item,
                reader=reader,
            )
        finally:
            bar.close()
        if not reader.finished:
            self.stderr.write(
                f"Stopped after line {reader.position.line}; --resume continues from there."
            )
        self.finish(result)

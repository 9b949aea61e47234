"""What the ingestion commands share: a progress bar on stderr, the failures named one
by one, a summary line, and a non-zero exit code when anything failed."""

import datetime as dt
import logging
import sys

import httpx
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ingest.records import IngestResult, TransientSourceError
from ingest.upsert import ingest


def iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


iso_date.__name__ = "date"  # argparse names the type in its error message


class IngestCommand(BaseCommand):
    source = "papers"

    def progress(self, **kwargs) -> tqdm:
        return tqdm(
            file=sys.stderr,
            disable=self.verbosity == 0,
            dynamic_ncols=True,
            **({"unit": " papers", "desc": self.source} | kwargs),
        )

    def ingest(self, items, bar: tqdm | None = None, **kwargs) -> IngestResult:
        bar = bar or self.progress()
        on_item = kwargs.pop("on_item", None) or (lambda _item: bar.update())
        try:
            result = ingest(items, on_item=on_item, **kwargs)
        except (httpx.TransportError, TransientSourceError) as exc:
            result = getattr(exc, "partial_result", None) or IngestResult()
            result.fail(f"{self.source} is unavailable: {exc}")
        finally:
            bar.close()
        return result

    def finish(self, *results: IngestResult):
        total = IngestResult()
        for result in results:
            total.merge(result, keep_ids=False)
        for error in total.errors:
            self.stderr.write(f"failed: {error}")
        if total.failed > len(total.errors):
            self.stderr.write(f"... and {total.failed - len(total.errors)} more")
        self.stdout.write(f"{self.source}: {total.summary()}")
        if total.failed:
            raise CommandError(
                f"{total.failed} record(s) failed (named above); the others were stored."
            )
        return total

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        if self.verbosity < 2:
            # Failures are listed at the end; the per-record log lines would repeat them.
            logging.getLogger("ingest").setLevel(logging.ERROR)
        return self.run(**options)

    def run(self, **options):
        raise NotImplementedError

import sys
from pathlib import Path

import httpx
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ingest.records import TransientSourceError
from papers.models import Paper
from thumbnails.models import Thumbnail
from thumbnails.render import Refused
from thumbnails.service import (
    add_card_image,
    make_thumbnail,
    render_and_store,
    without_card_image,
)
from thumbnails.tasks import missing


class Command(BaseCommand):
    help = (
        "Render first-page thumbnails: of the papers named with --paper (fetching their "
        "PDF from arXiv), of a local PDF with --file PDF --paper ID, or of every featured "
        "paper that lacks one with --missing (which also gives thumbnails made before "
        "cards had their own small image that image, from the stored one: no PDF "
        "fetched). Failures are named; exit 1 if any."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--paper", action="append", dest="papers", metavar="ID", help="an arXiv id"
        )
        parser.add_argument("--file", metavar="PDF", help="render this PDF (with one --paper)")
        parser.add_argument(
            "--missing",
            action="store_true",
            help="every featured paper without a thumbnail, and every thumbnail without "
            "its card image",
        )
        parser.add_argument(
            "--force", action="store_true", help="render again papers that have one"
        )

    def handle(self, papers=None, file=None, missing=False, force=False, **options):
        verbosity = options["verbosity"]
        if file:
            if not papers or len(papers) != 1:
                raise CommandError("--file needs exactly one --paper (the paper it is of).")
            if not Path(file).is_file():
                raise CommandError(f"{file}: no such file.")
        if not (papers or missing):
            raise CommandError("Say which papers: --paper ID (repeatable) or --missing.")
        selected = self._select(papers, missing, force)
        failures, made = [], 0
        bar = tqdm(
            selected, file=sys.stderr, disable=verbosity == 0, unit=" papers", desc="thumbnails"
        )
        for paper in bar:
            try:
                if file:
                    thumbnail = render_and_store(paper, Path(file))
                else:
                    thumbnail = make_thumbnail(paper)
            except (httpx.TransportError, TransientSourceError) as exc:
                failures.append(f"{paper.arxiv_id}: arXiv unavailable ({exc}); stopped here")
                break
            if thumbnail.status == Thumbnail.Status.READY and not thumbnail.reason:
                made += 1
            else:
                failures.append(f"{paper.arxiv_id}: {thumbnail.reason}")
        bar.close()
        cards = self._add_card_images(verbosity, failures) if missing and not file else None
        for failure in failures:
            self.stderr.write(f"failed: {failure}")
        self.stdout.write(
            f"thumbnails: {made} rendered, {len(failures)} failed"
            + (f"; {cards} card image(s) made from stored thumbnails" if cards else "")
        )
        if failures:
            raise CommandError(f"{len(failures)} thumbnail(s) failed (named above).")

    def _add_card_images(self, verbosity, failures) -> int:
        """Rows rendered before cards had their own image: made from the stored page."""
        todo = list(without_card_image())
        made = 0
        for thumbnail in tqdm(
            todo, file=sys.stderr, disable=verbosity == 0 or not todo, unit=" images", desc="cards"
        ):
            try:
                made += add_card_image(thumbnail)
            except (OSError, Refused) as exc:  # a stored file gone, or not a page
                failures.append(f"{thumbnail.paper.arxiv_id}: card image: {exc}")
        return made

    def _select(self, ids, missing_only, force):
        if ids:
            found = {p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=ids)}
            unknown = [i for i in ids if i not in found]
            if unknown:
                raise CommandError(f"No such paper here: {', '.join(unknown)}.")
            chosen = [found[i] for i in dict.fromkeys(ids)]
            if not force and not missing_only:
                return chosen
            ready = set(Thumbnail.objects.ready().values_list("paper_id", flat=True))
            return [p for p in chosen if force or p.pk not in ready]
        if force:
            return list(Paper.objects.visible().featured().order_by("-daily_date", "-id"))
        return list(missing())

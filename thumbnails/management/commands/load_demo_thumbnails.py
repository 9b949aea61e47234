from django.core.management.base import BaseCommand, CommandError

from thumbnails.demo import FIXTURES, load_demo_thumbnails
from thumbnails.models import Thumbnail


class Command(BaseCommand):
    help = (
        f"Add the papers whose PDFs the project ships ({FIXTURES.name}/, CC BY 4.0) to a "
        "loaded demo and render their first pages as thumbnails, offline. Run after "
        "load_demo; re-running changes nothing."
    )

    def handle(self, **options):
        added, made = load_demo_thumbnails()
        failed = [t for t in made if t.status != Thumbnail.Status.READY]
        for thumbnail in failed:
            self.stderr.write(f"failed: {thumbnail.paper.arxiv_id}: {thumbnail.reason}")
        self.stdout.write(
            f"Demo thumbnails: {added} papers added, {len(made) - len(failed)} thumbnails rendered."
        )
        if failed:
            raise CommandError(f"{len(failed)} thumbnail(s) failed (named above).")

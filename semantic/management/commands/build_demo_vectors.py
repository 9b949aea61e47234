from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from papers.models import Paper
from semantic import demo_vectors, encoder


class Command(BaseCommand):
    help = (
        "Write the demo's vectors (semantic/fixtures/demo-vectors/<model>.npz) by embedding "
        "every paper of this database with the project's encoder. Run it on a database "
        "holding only the demo (see docs/search.md), after a change to the demo's papers, "
        "the model or the embedded text."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", default=None, help="another path for the file")

    def handle(self, *args, output=None, **options):
        try:
            enc = encoder.get_encoder()
        except encoder.EncoderUnavailable as exc:
            raise CommandError(f"The model could not be loaded: {exc}") from exc
        total = Paper.objects.count()
        if not total:
            raise CommandError("No papers: run load_demo first.")
        with tqdm(total=total, unit="paper", file=self.stderr) as bar:
            path = demo_vectors.build(
                path=Path(output) if output else None, enc=enc, progress=bar.update
            )
        self.stdout.write(f"{total} vectors of {enc.key} written to {path}")

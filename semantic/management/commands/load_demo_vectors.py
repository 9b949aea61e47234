from django.core.management.base import BaseCommand

from semantic import demo_vectors, encoder


class Command(BaseCommand):
    help = (
        "Insert the demo's shipped vectors (semantic/fixtures/demo-vectors/) for papers "
        "without a current vector whose text matches; no model is loaded. Then run "
        "embed_papers for the rest. Re-runs insert nothing."
    )

    def handle(self, *args, **options):
        try:
            key = encoder.model_key()
        except encoder.EncoderUnavailable as exc:
            self.stderr.write(f"No demo vectors loaded: {exc}")
            return
        self.stdout.write(demo_vectors.load(key).summary())

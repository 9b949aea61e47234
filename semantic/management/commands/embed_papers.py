from django.core.management.base import BaseCommand
from tqdm import tqdm

from semantic import embedding, encoder, index


class Command(BaseCommand):
    help = (
        "Embed papers that have no current vector (missing, another model, or changed text), "
        "batch by batch; each batch is committed, so a killed run resumes where it stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="embed at most N papers")
        parser.add_argument("--batch-size", type=int, default=embedding.DEFAULT_BATCH_SIZE)
        parser.add_argument(
            "--rebuild-index", action="store_true", help="then rebuild the vector index file"
        )
        parser.add_argument(
            "--refresh-index",
            action="store_true",
            help="then add new vectors to the index (build it if there is none); quick if none",
        )

    def handle(
        self, *args, limit=None, batch_size=64, rebuild_index=False, refresh_index=False, **options
    ):
        try:
            enc = encoder.get_encoder()
        except encoder.EncoderUnavailable as exc:
            self.stderr.write(f"The model could not be loaded: {exc}")
            raise SystemExit(1) from exc
        total = embedding.pending_count(enc.key)
        if limit is not None:
            total = min(total, limit)
        with tqdm(total=total, unit="paper", disable=not total, file=self.stderr) as bar:
            result = embedding.embed_pending(
                limit=limit, batch_size=max(1, batch_size), progress=bar.update, enc=enc
            )
        self.stdout.write(result.summary())
        if rebuild_index:
            built = index.rebuild(enc.key)
            self.stdout.write(f"Index rebuilt: {built.count} vectors in {built.path}")
        elif refresh_index:
            built = index.refresh(enc.key)
            if built:
                self.stdout.write(f"Index updated: {built.count} vectors in {built.path}")

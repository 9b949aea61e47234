from django.core.management.base import BaseCommand
from tqdm import tqdm

from semantic import demo_vectors as shipped
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
        parser.add_argument(
            "--demo-vectors",
            action="store_true",
            help="first insert the demo's shipped vectors where the text matches "
            "(semantic/fixtures/demo-vectors/, as load_demo_vectors does)",
        )

    def handle(
        self,
        *args,
        limit=None,
        batch_size=64,
        rebuild_index=False,
        refresh_index=False,
        demo_vectors=False,
        **options,
    ):
        try:
            spec = encoder.current_spec()
            key = encoder.model_key(spec)
        except encoder.EncoderUnavailable as exc:
            self.stderr.write(f"The model could not be loaded: {exc}")
            raise SystemExit(1) from exc
        if demo_vectors:
            self.stdout.write(shipped.load(key).summary())
        total = embedding.pending_count(key)
        if limit is not None:
            total = min(total, limit)
        if total or not encoder.onnx_path(spec).exists():
            # Loaded (and built, the first time) even with nothing to embed: the site's
            # first query then finds the model ready.
            try:
                enc = encoder.get_encoder()
            except encoder.EncoderUnavailable as exc:
                self.stderr.write(f"The model could not be loaded: {exc}")
                raise SystemExit(1) from exc
            with tqdm(total=total, unit="paper", disable=not total, file=self.stderr) as bar:
                result = embedding.embed_pending(
                    limit=limit, batch_size=max(1, batch_size), progress=bar.update, enc=enc
                )
        else:  # nothing to do: `make run` starts without loading the model
            result = embedding.EmbedResult(model_key=key)
        self.stdout.write(result.summary())
        if rebuild_index:
            built = index.rebuild(key)
            self.stdout.write(f"Index rebuilt: {built.count} vectors in {built.path}")
        elif refresh_index:
            built = index.refresh(key)
            if built:
                self.stdout.write(f"Index updated: {built.count} vectors in {built.path}")

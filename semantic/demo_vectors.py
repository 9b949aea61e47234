"""The demo's vectors, shipped: `make run` searches the demo by meaning at once instead
of spending minutes embedding its 3,700 papers on the first run.

semantic/fixtures/demo-vectors/<model>.npz holds, for each demo paper, its arXiv id, the
hash of the text its vector encodes (encoder.text_hash of title, blank line, abstract),
and the vector in float16 (as PaperEmbedding stores it), with the model key it was made
with. `manage.py build_demo_vectors` writes it from a database holding the demo, with
the project's own encoder; `manage.py load_demo_vectors` (run by `make run`) inserts the
vectors of the papers whose arXiv id, text hash and model key all match. A paper whose
text differs (a demo file changed since) or a vector of another model is not trusted:
embed_papers embeds those, as it would any paper.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils.text import get_valid_filename

from papers.models import Paper

from . import encoder
from .embedding import pending
from .models import STORED_DTYPE, PaperEmbedding

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "demo-vectors"
BATCH = 500


def fixture_path(key: str) -> Path:
    return FIXTURE_DIR / f"{get_valid_filename(key.replace('/', '_').replace('@', '-'))}.npz"


@dataclass
class Loaded:
    inserted: int = 0
    left: int = 0  # pending papers the fixture has no matching vector for
    fixture: Path | None = None

    def summary(self) -> str:
        if self.fixture is None:
            return f"No demo vectors for this model; {self.left} papers left to embed_papers."
        return (
            f"{self.inserted} demo vectors loaded from {self.fixture.name}; "
            f"{self.left} papers left to embed_papers."
        )


def read(path: Path) -> tuple[str, dict[tuple[str, str], np.ndarray]]:
    """(model key, {(arXiv id, text hash): float16 vector})."""
    with np.load(path, allow_pickle=False) as data:
        key = str(data["model_key"])
        vectors = data["vectors"].astype(STORED_DTYPE, copy=False)
        return key, {
            (str(a), str(h)): vectors[i]
            for i, (a, h) in enumerate(zip(data["arxiv_ids"], data["text_hashes"], strict=True))
        }


def load(key: str | None = None) -> Loaded:
    """Insert the fixture's vectors for the papers pending for model `key` whose text is
    the one the vector was made from. Idempotent: a paper given its vector is no longer
    pending, so a second run inserts nothing."""
    key = key or encoder.model_key()
    path = fixture_path(key)
    todo = pending(key).order_by("pk")
    if not path.exists():
        return Loaded(left=todo.count())
    stored_key, vectors = read(path)
    if stored_key != key:  # a file renamed by hand: never mix two models' spaces
        return Loaded(left=todo.count())
    result = Loaded(fixture=path)
    last_pk = 0
    while True:
        rows = list(
            todo.filter(pk__gt=last_pk).values(
                "pk", "arxiv_id", "title", "abstract", "modified_at"
            )[:BATCH]
        )
        if not rows:
            break
        last_pk = rows[-1]["pk"]
        objs = []
        for row in rows:
            digest = encoder.text_hash(encoder.document_text(row["title"], row["abstract"]))
            vector = vectors.get((row["arxiv_id"], digest))
            if vector is None:
                result.left += 1
                continue
            objs.append(
                PaperEmbedding(
                    paper_id=row["pk"],
                    model_key=key,
                    vector=vector.tobytes(),
                    text_hash=digest,
                    paper_modified_at=row["modified_at"],
                )
            )
        with transaction.atomic():
            PaperEmbedding.objects.upsert(objs)
        result.inserted += len(objs)
    return result


def build(path: Path | None = None, enc: "encoder.Encoder | None" = None, progress=None) -> Path:
    """Embed every paper of the database (one holding the demo, nothing else) with the
    project's encoder and write the fixture. Reads texts, not stored vectors, so the
    file is what the encoder computes whatever the database held."""
    enc = enc or encoder.get_encoder()
    path = path or fixture_path(enc.key)
    rows = list(Paper.objects.order_by(F("arxiv_id")).values_list("arxiv_id", "title", "abstract"))
    texts = [encoder.document_text(title, abstract) for _, title, abstract in rows]
    chunks = []
    for start in range(0, len(texts), 256):
        # The encoder runs each text alone: a vector depends on its text only, and the
        # file is reproducible.
        vectors = enc.encode(texts[start : start + 256])
        chunks.append(vectors.astype(STORED_DTYPE))
        if progress:
            progress(len(chunks[-1]))
    vectors = np.concatenate(chunks) if chunks else np.zeros((0, enc.dims), STORED_DTYPE)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        model_key=np.array(enc.key),
        arxiv_ids=np.array([a for a, _, _ in rows]),
        text_hashes=np.array([encoder.text_hash(t) for t in texts]),
        vectors=vectors,
    )
    tmp.replace(path)
    return path

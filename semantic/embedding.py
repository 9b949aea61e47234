"""Embedding papers: find those without a current vector, encode them in batches, and
upsert each batch in its own transaction.

A kill loses at most the batch in progress (its transaction rolls back: no half-written
rows), and the next run starts with what is still missing. Safe beside ingestion:
each row records the paper's modified_at as read, so a paper changed while its batch
was being encoded is seen as stale by the next run; the upsert is idempotent, so two
runs at once only waste work.
"""

import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, Q

from papers.models import Paper

from . import encoder
from .models import PaperEmbedding

DEFAULT_BATCH_SIZE = 64


@dataclass
class EmbedResult:
    embedded: int = 0
    unchanged: int = 0  # saved since, but with the same text: only re-stamped
    batches: int = 0
    seconds: float = 0.0
    model_key: str = ""
    errors: list = field(default_factory=list)

    def summary(self) -> str:
        rate = self.embedded / self.seconds if self.seconds else 0.0
        return (
            f"{self.embedded} papers embedded, {self.unchanged} unchanged, in {self.batches} "
            f"batches, {self.seconds:.1f} s ({rate:.1f} papers/s), model {self.model_key}"
        )


def pending(key: str):
    """Papers with no vector of model `key`, or saved since their vector was made."""
    return Paper.objects.filter(
        Q(embedding__isnull=True)
        | ~Q(embedding__model_key=key)
        | Q(embedding__paper_modified_at__isnull=True)
        | Q(embedding__paper_modified_at__lt=F("modified_at"))
    )


def pending_count(key: str | None = None) -> int:
    return pending(key or encoder.model_key()).count()


def embed_pending(
    limit: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress=None,
    enc: "encoder.Encoder | None" = None,
    papers=None,
) -> EmbedResult:
    """Embed up to `limit` pending papers (of the queryset `papers`, if given), lowest
    id first. `progress(n)` is called after each batch with the number it handled."""
    enc = enc or encoder.get_encoder()
    result = EmbedResult(model_key=enc.key)
    started = time.perf_counter()
    last_pk = 0
    remaining = limit
    while remaining is None or remaining > 0:
        size = batch_size if remaining is None else min(batch_size, remaining)
        todo_papers = pending(enc.key)
        if papers is not None:
            todo_papers = todo_papers.filter(pk__in=papers.values("pk"))
        rows = list(
            todo_papers.filter(pk__gt=last_pk)
            .order_by("pk")
            .values(
                "pk",
                "title",
                "abstract",
                "modified_at",
                "embedding__text_hash",
                "embedding__model_key",
            )[:size]
        )
        if not rows:
            break
        last_pk = rows[-1]["pk"]
        texts = [encoder.document_text(r["title"], r["abstract"]) for r in rows]
        hashes = [encoder.text_hash(t) for t in texts]
        # A paper saved for another reason (a vote count, a category) keeps its vector.
        todo = [
            i
            for i, r in enumerate(rows)
            if r["embedding__text_hash"] != hashes[i] or r["embedding__model_key"] != enc.key
        ]
        skipped = set(range(len(rows))) - set(todo)
        vectors = enc.encode([texts[i] for i in todo]) if todo else []
        objs = [
            PaperEmbedding(
                paper_id=rows[i]["pk"],
                model_key=enc.key,
                vector=PaperEmbedding.pack(vector),
                text_hash=hashes[i],
                paper_modified_at=rows[i]["modified_at"],
            )
            for i, vector in zip(todo, vectors, strict=True)
        ]
        restamp = [
            PaperEmbedding(
                paper_id=rows[i]["pk"],
                model_key=enc.key,
                text_hash=hashes[i],
                paper_modified_at=rows[i]["modified_at"],
            )
            for i in sorted(skipped)
        ]
        with transaction.atomic():
            # A paper deleted while its batch was encoded has nothing to point to.
            alive = set(
                Paper.objects.filter(pk__in=[r["pk"] for r in rows]).values_list("pk", flat=True)
            )
            PaperEmbedding.objects.upsert([o for o in objs if o.paper_id in alive])
            for obj in restamp:
                if obj.paper_id in alive:
                    PaperEmbedding.objects.filter(paper_id=obj.paper_id, model_key=enc.key).update(
                        paper_modified_at=obj.paper_modified_at
                    )
        result.embedded += len(objs)
        result.unchanged += len(restamp)
        result.batches += 1
        if remaining is not None:
            remaining -= len(rows)
        if progress:
            progress(len(rows))
    result.seconds = time.perf_counter() - started
    return result

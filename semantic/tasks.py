"""Celery tasks: plain functions of semantic.embedding and semantic.index, idempotent."""

import logging

from celery import shared_task

from . import embedding, encoder, index

log = logging.getLogger(__name__)

# One run embeds at most this many papers (about a minute on two cores); the next
# ingestion batch or the beat entry takes the rest.
TASK_LIMIT = 5_000


@shared_task
def embed_new_papers(limit: int = TASK_LIMIT):
    """Queued after each ingestion batch and by beat: embed what is missing, then add
    it to the vector index (or rebuild it)."""
    try:
        enc = encoder.get_encoder()
    except encoder.EncoderUnavailable:
        log.exception("Embedding skipped: the model could not be loaded")
        return None
    result = embedding.embed_pending(limit=limit, enc=enc)
    log.info("Embeddings: %s", result.summary())
    built = index.refresh(enc.key)
    if result.embedded and embedding.pending_count(enc.key):
        embed_new_papers.delay()  # more to do: another run, not one endless task
    return {"embedded": result.embedded, "indexed": built.count if built else None}

"""Paper vectors: the source of truth for search by meaning. Any index (semantic.index)
is derived from these rows and can be rebuilt from them at any time."""

import numpy as np
from django.db import models

from papers.models import Paper

# Stored as little-endian float16: 768 bytes for 384 dimensions, half of float32, and
# cosine similarities differ from float32 by less than 0.001.
STORED_DTYPE = np.dtype("<f2")


class PaperEmbeddingQuerySet(models.QuerySet):
    def upsert(self, embeddings) -> None:
        """Write each paper's vector, replacing the one it had (one row per paper)."""
        self.bulk_create(
            embeddings,
            update_conflicts=True,
            unique_fields=["paper"],
            update_fields=["model_key", "vector", "text_hash", "paper_modified_at", "updated_at"],
        )

    def current(self, key: str):
        return self.filter(model_key=key)

    def matrix(self, key: str, paper_ids=None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, float32 vectors) of the current model's vectors, optionally of some papers."""
        rows = self.current(key)
        if paper_ids is not None:
            rows = rows.filter(paper_id__in=list(paper_ids))
        return to_matrix(rows.values_list("paper_id", "vector"))


def to_matrix(rows) -> tuple[np.ndarray, np.ndarray]:
    ids, blobs = [], []
    for paper_id, blob in rows:
        ids.append(paper_id)
        blobs.append(bytes(blob))
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    matrix = np.frombuffer(b"".join(blobs), STORED_DTYPE).reshape(len(ids), -1)
    return np.array(ids, np.int64), matrix.astype(np.float32)


class PaperEmbedding(models.Model):
    paper = models.OneToOneField(
        Paper, primary_key=True, on_delete=models.CASCADE, related_name="embedding"
    )
    # semantic.encoder.model_key(): vectors of different models are never compared, and
    # a vector of another model counts as missing.
    model_key = models.CharField(max_length=100)
    vector = models.BinaryField()
    # sha256 of the embedded text (title, blank line, abstract), and the paper's
    # modified_at as it was read: a paper saved since is checked again, and embedded
    # again only if its text changed.
    text_hash = models.CharField(max_length=32)
    paper_modified_at = models.DateTimeField(null=True)
    # When this row was written: the index records up to when it has read them, and
    # vectors written since are searched exactly (semantic.index).
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = PaperEmbeddingQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["model_key", "paper"], name="embedding_model_paper")]

    def __str__(self):
        return f"embedding of {self.paper_id} ({self.model_key})"

    @staticmethod
    def pack(vector: np.ndarray) -> bytes:
        return np.asarray(vector, dtype=STORED_DTYPE).tobytes()

    def unpack(self) -> np.ndarray:
        return np.frombuffer(bytes(self.vector), STORED_DTYPE).astype(np.float32)

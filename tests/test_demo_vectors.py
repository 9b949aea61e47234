"""The demo's shipped vectors (semantic/fixtures/demo-vectors/): `make run` searches the
demo by meaning without embedding its 3,700 papers first. Real demo, real encoder,
real PostgreSQL."""

import io

import numpy as np
import pytest
from django.core.management import call_command

from papers.models import Paper
from semantic import demo_vectors, embedding, encoder, index
from semantic.models import PaperEmbedding

from .factories import PaperFactory


@pytest.fixture(scope="session")
def model():
    return encoder.get_encoder()


@pytest.fixture(autouse=True)
def _own_index(settings, tmp_path):
    settings.SEMANTIC_INDEX_DIR = str(tmp_path / "index")
    index.forget()
    yield
    index.forget()


def _command(name, *args) -> str:
    out = io.StringIO()
    call_command(name, *args, verbosity=0, stdout=out)
    return out.getvalue()


def test_the_shipped_vectors_cover_the_demo_and_equal_what_the_encoder_computes(db, model):
    _command("load_demo")
    papers = Paper.objects.count()
    assert papers > 3_000

    # What `make run` runs after load_demo.
    out = _command("embed_papers", "--demo-vectors", "--refresh-index")
    assert f"{papers} demo vectors loaded" in out
    assert "0 papers embedded" in out
    assert f"Index updated: {papers} vectors" in out
    assert PaperEmbedding.objects.current(model.key).count() == papers
    # Nothing left for embed_papers: the fixture is in step with the demo's files (if
    # this fails, the demo changed: run build_demo_vectors, see docs/search.md).
    assert embedding.pending_count(model.key) == 0

    sample = list(Paper.objects.order_by("?")[:3])
    computed = model.encode([encoder.document_text(p.title, p.abstract) for p in sample])
    for paper, vector in zip(sample, computed, strict=True):
        row = PaperEmbedding.objects.get(paper=paper)
        assert row.model_key == model.key
        assert row.text_hash == encoder.text_hash(
            encoder.document_text(paper.title, paper.abstract)
        )
        shipped = row.unpack()
        cosine = float(shipped @ vector / np.linalg.norm(shipped) / np.linalg.norm(vector))
        # Close, not equal, from one CPU to another: ONNX Runtime picks its int8 kernels
        # by instruction set. On the machine that wrote the file the cosine is >= 0.999;
        # on an AVX2-only AMD EPYC, 300 demo papers gave 0.988-0.998 (median 0.994).
        assert cosine >= 0.98, (paper.arxiv_id, cosine)

    stamps = dict(PaperEmbedding.objects.values_list("paper_id", "updated_at"))
    assert "0 demo vectors loaded" in _command("load_demo_vectors")
    assert dict(PaperEmbedding.objects.values_list("paper_id", "updated_at")) == stamps
    assert embedding.embed_pending(enc=model).embedded == 0


def test_a_paper_whose_text_differs_from_the_shipped_one_is_left_to_embed_papers(
    db, model, tmp_path, monkeypatch
):
    monkeypatch.setattr(demo_vectors, "FIXTURE_DIR", tmp_path)
    kept, changed = PaperFactory(), PaperFactory()
    demo_vectors.build(enc=model)
    Paper.objects.filter(pk=changed.pk).update(title="A title the shipped vector never saw")

    result = demo_vectors.load(model.key)
    assert (result.inserted, result.left) == (1, 1)
    assert PaperEmbedding.objects.get().paper_id == kept.pk
    # embed_papers (run next by make run) embeds the one left, from its current text.
    assert embedding.embed_pending(enc=model).embedded == 1
    changed.refresh_from_db()
    assert changed.embedding.text_hash == encoder.text_hash(
        encoder.document_text(changed.title, changed.abstract)
    )
    assert demo_vectors.load(model.key).inserted == 0


def test_vectors_of_another_model_are_never_loaded(db, model, tmp_path, monkeypatch):
    monkeypatch.setattr(demo_vectors, "FIXTURE_DIR", tmp_path)
    paper = PaperFactory()
    other = demo_vectors.fixture_path("another-model@1/mean/onnx-int8")
    built = demo_vectors.build(path=other, enc=model)  # holds model.key inside
    assert built.exists()

    result = demo_vectors.load("another-model@1/mean/onnx-int8")
    assert (result.inserted, result.left, result.fixture) == (0, 1, None)
    assert not PaperEmbedding.objects.filter(paper=paper).exists()

    # Under its own key the same file loads.
    built.rename(demo_vectors.fixture_path(model.key))
    assert demo_vectors.load(model.key).inserted == 1

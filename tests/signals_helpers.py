"""Issue 13 on the demo site of the page checks (tests/site_pages.py): a thumbnail on the
top cards and code signals (stars, Hugging Face artifacts), so the Nu HTML Checker, axe
and the screenshots go over that markup too. The images are the real fixture PDFs' first
pages, not the demo papers' own: these checks look at markup, not at what is drawn."""

import tempfile
from pathlib import Path

from codesignals.models import PaperSignals, Repository
from papers.models import Paper
from thumbnails.models import Thumbnail
from thumbnails.service import render_and_store

PDFS = sorted((Path(__file__).resolve().parent / "fixtures" / "pdf").glob("*.pdf"))


def add_signals(settings, day):
    settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="media-"))
    papers = list(Paper.objects.visible().filter(daily_date=day).ranked()[:5])
    for n, paper in enumerate(papers):
        if n < len(PDFS):
            render_and_store(paper, PDFS[n])
        else:
            Thumbnail.objects.create(paper=paper, status="refused", reason="encrypted")
        repository = Repository.objects.create(
            full_name=f"demo-lab/repo-{n}",
            status="ok",
            stars=[7122, 45, 980, 3, 0][n],
            stars_gained=[300, 2, 0, 0, 0][n],
        )
        PaperSignals.objects.create(
            paper=paper,
            repository=repository,
            models_count=3 if n == 0 else 0,
            datasets_count=1 if n == 0 else 0,
            spaces_count=1 if n == 0 else 0,
            hf_models=[{"id": "demo-lab/model-a", "likes": 40}] if n == 0 else [],
            hf_datasets=[{"id": "demo-lab/data-a"}] if n == 0 else [],
            hf_spaces=[{"id": "demo-lab/demo", "likes": 9}] if n == 0 else [],
        )
        Paper.objects.filter(pk=paper.pk).update(code_url=f"https://github.com/demo-lab/repo-{n}")

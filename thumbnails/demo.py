"""Real thumbnails in the demo, offline.

`make run` fetches nothing, so none of the demo's papers has its PDF and every card
would show a placeholder. The project may ship three real papers' PDFs: the ACL
Anthology versions of arXiv 1805.02262, 2004.07180 and 2301.13298, under CC BY 4.0
(thumbnails/fixtures/demo-pdfs/, README there). None of them is among the demo's
recorded papers, so this adds them, with the metadata their first pages print (title,
authors, abstract, venue, DOI), as submissions on the day before the demo's latest list,
upvoted by the demo's users so that they lead it, and renders each one's first page as
its thumbnail. A paper gets a thumbnail from its own PDF only.

The records are not arXiv's (`authoritative=False`, version 1): arXiv's own metadata
replaces them if the site ever ingests these ids. Re-running adds and renders nothing.
"""

import datetime as dt
import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max

from ingest import demo
from ingest.records import PaperRecord
from ingest.submit import feature_paper
from ingest.upsert import ingest
from papers.models import Paper

from .models import Thumbnail
from .service import add_card_image, render_and_store

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "demo-pdfs"
PAPERS_FILE = FIXTURES / "papers.json"


def demo_pdfs(path: Path = PAPERS_FILE) -> list[dict]:
    """The papers whose PDFs are shipped, as papers.json describes them."""
    return json.loads(path.read_text(encoding="utf-8"))


def _record(entry: dict) -> PaperRecord:
    return PaperRecord(
        arxiv_id=entry["arxiv_id"],
        title=entry["title"],
        authoritative=False,
        abstract=entry["abstract"],
        authors=entry["authors"],
        journal_ref=entry["journal_ref"],
        doi=entry["doi"],
        code_url=entry["code_url"],
        source_key="demo-pdf",
        source={"file": entry["file"], "licence": "CC BY 4.0", "doi": entry["doi"]},
        label=entry["file"],
    )


def _add_papers(entries: list[dict]) -> int:
    """Store and feature the papers the database lacks; returns how many."""
    known = set(
        Paper.objects.filter(arxiv_id__in=[e["arxiv_id"] for e in entries]).values_list(
            "arxiv_id", flat=True
        )
    )
    new = [e for e in entries if e["arxiv_id"] not in known]
    if not new:
        return 0
    users = list(get_user_model().objects.filter(username__in=[u for u, _ in demo.USERS]))
    latest = Paper.objects.aggregate(day=Max("daily_date"))["day"]
    day = latest - dt.timedelta(days=1)
    with transaction.atomic():
        result = ingest(_record(e) for e in new)
        if result.errors:
            raise ValueError(f"{PAPERS_FILE.name}: {'; '.join(map(str, result.errors))}")
        top = Paper.objects.filter(daily_date=day).aggregate(most=Max("upvote_count"))["most"] or 0
        for rank, entry in enumerate(new):
            paper = Paper.objects.get(arxiv_id=entry["arxiv_id"])
            feature_paper(paper.pk, users[rank % len(users)], day)
            # Above the day's most upvoted paper, in the file's order: the day's list
            # opens with the cards that have a real thumbnail.
            for user in users[: min(top + len(new) - rank, len(users))]:
                paper.add_vote(user)  # rewrites its trending score too
    return len(new)


def load_demo_thumbnails(path: Path = PAPERS_FILE) -> tuple[int, list[Thumbnail]]:
    """Add the shipped PDFs' papers to a loaded demo and render the thumbnails they
    lack (and the card image, to those made before cards had their own). Returns
    (papers added, thumbnails made); nothing when the demo isn't loaded."""
    if not demo.is_loaded():
        return 0, []
    entries = demo_pdfs(path)
    added = _add_papers(entries)
    ready = {
        t.paper.arxiv_id: t
        for t in Thumbnail.objects.ready()
        .filter(paper__arxiv_id__in=[e["arxiv_id"] for e in entries])
        .select_related("paper")
    }
    for thumbnail in ready.values():
        add_card_image(thumbnail)
    made = []
    for entry in entries:
        if entry["arxiv_id"] in ready:
            continue
        paper = Paper.objects.get(arxiv_id=entry["arxiv_id"])
        made.append(render_and_store(paper, path.parent / entry["file"]))
    return added, made

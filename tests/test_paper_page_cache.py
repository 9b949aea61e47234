"""The paper page's cached parts (papers.pageparts, issue 16): the blocks every reader
sees alike (authors, abstract, BibTeX, details, code and artifacts, voters, public
collections) are rendered once and kept under a key made of what they show; the vote,
save and collection forms, the discussion and the ranking explanation are the reader's.

Each change below is made by the code that makes it on the site, after the page's parts
were cached; the next request must show it.
"""

import datetime as dt
import os
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from codesignals.models import PaperSignals, Repository
from discussion.models import Comment
from library.models import Collection
from papers.models import Author, Paper
from thumbnails.models import Thumbnail

from .accounts_helpers import verified
from .factories import PaperFactory, UserFactory, VoteFactory
from .test_card_cache import GOLDEN, _normalised

PUBLISHED = dt.datetime(2026, 11, 2, 17, tzinfo=dt.UTC)


def _forget():
    import sys

    cache.clear()
    for name in ("papers.cards", "papers.pageparts"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "forget"):
            module.forget()


# --- The paper page, byte for byte -----------------------------------------------------
# A fixed paper with everything the page shows (33 authors, math, arXiv comments, code
# and artifacts, a thumbnail, voters with an author among them, a public collection, a
# comment), rendered anonymously and for a reader who voted, saved it and has a
# collection of their own; compared with tests/golden/ (written by the templates before
# the page's parts were cached, at 48eaa2f). Regenerate on purpose with UPDATE_GOLDEN=1.


def _fixed_paper(reader):
    submitter = UserFactory(username="sam", display_name="Sam Submitter")
    paper = PaperFactory(
        id=991001,
        arxiv_id="2611.01001",
        title="Scaling $k$-sparse attention <to> long documents",
        abstract="We study $x^2$ attention.\n\nSee https://example.org/a?b=1&c=2 for code.",
        comments="12 pages, https://example.org/project",
        primary_category="cs.CL",
        categories=["cs.CL", "cs.LG"],
        published_at=PUBLISHED,
        updated_at=PUBLISHED + dt.timedelta(days=3),
        daily_date=dt.date(2026, 11, 3),
        doi="10.1000/xyz 1",
        journal_ref="J. Things 3 (2026)",
        code_url="https://github.com/acme/sparse",
        project_url="javascript:alert(1)",
        submitted_by=submitter,
        authors=[f"Author Number {k}" for k in range(33)],
    )
    Thumbnail.objects.create(
        paper=paper, status=Thumbnail.Status.READY, image="thumbs/a.webp", width=300, height=400
    )
    repository = Repository.objects.create(
        full_name="acme/sparse", status="ok", stars=1234, stars_gained=56
    )
    PaperSignals.objects.create(
        paper=paper,
        repository=repository,
        models_count=3,
        hf_models=[{"id": "acme/sparse-7b", "likes": 1200}, {"id": "acme/sparse-1b"}],
    )
    claimer = verified(UserFactory(username="ann", display_name="Ann Author"))
    Author.objects.filter(name="Author Number 0").update(claimed_by=claimer)
    voters = [claimer, UserFactory(username="bo", display_name=""), reader]
    for n, voter in enumerate(voters):
        VoteFactory(user=voter, paper=paper)
    Paper.objects.filter(pk=paper.pk).update(upvote_count=len(voters))
    reader.saved_papers.create(paper=paper)
    owner = UserFactory(username="cat", display_name="Cat Collector")
    shelf = Collection.objects.create_named(owner, "Attention <reads>", visibility="public")
    shelf.items.create(paper=paper)
    Collection.objects.create_named(reader, "Mine")
    Comment.post(paper, claimer, "Thanks for *reading*.")
    return Paper.objects.get(pk=paper.pk)


def _page(client, paper) -> str:
    response = client.get(paper.get_absolute_url())
    assert response.status_code == 200
    return _normalised(response.content.decode())


@pytest.mark.parametrize("who", ["anonymous", "signed-in"])
def test_the_paper_page_is_the_page_the_templates_rendered(client, who, db):
    reader = verified(UserFactory(username="reader", display_name="Rea Reader"))
    paper = _fixed_paper(reader)
    if who == "signed-in":
        client.force_login(reader)
    renders = [_page(client, paper), _page(client, paper)]  # nothing cached, then cached
    _forget()
    renders.append(_page(client, paper))

    golden = GOLDEN / f"paper-{who}.html"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(renders[0])
    expected = golden.read_text()
    assert "Author Number 32" in expected and "acme/sparse-7b" in expected
    assert "Attention &lt;reads&gt;" in expected and "Ann Author" in expected
    for html in renders:
        assert html == expected

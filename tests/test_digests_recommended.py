"""The personal digest's "Recommended for you" section: the same recommendations as
/for-you/ (semantic registers it with digests.sections), with the real model's vectors
in PostgreSQL, sent through a real SMTP server and read back."""

import datetime as dt
import re

import pytest

from digests import sections
from digests.models import DigestSentPaper
from digests.selection import paper_ids
from library.models import SavedPaper
from papers.models import Paper
from semantic import embedding, encoder, recommend

from .digest_helpers import MONDAY, NOON, ON_MONDAY, body, featured, send_due
from .factories import DigestSubscriptionFactory, UserFactory, VoteFactory
from .test_semantic import real_papers

pytestmark = pytest.mark.django_db(transaction=True)

SEED = "2603.24414"  # ClawKeeper: safety for agents
AGENT_PAPERS = {"2605.29801", "2508.13167", "2503.02682", "2607.22529"}
HEADING = "RECOMMENDED FOR YOU"


@pytest.fixture(scope="module")
def model():
    return encoder.get_encoder()


@pytest.fixture(autouse=True)
def _fresh_vectors(monkeypatch, settings, tmp_path):
    """Each test reads the vectors it wrote (no process cache between tests)."""
    settings.SEMANTIC_INDEX_DIR = str(tmp_path / "index")
    monkeypatch.setattr(recommend, "RECENT_SECONDS", 0)


def new_real_papers(model):
    """The 18 real papers, first published on Monday (new in Tuesday's issue), embedded."""
    papers = {p.arxiv_id: p for p in real_papers(daily_date=None, published_at=ON_MONDAY)}
    embedding.embed_pending(enc=model)
    return papers


def recommended_part(text: str) -> str:
    """The plain-text section, from its heading to the footer."""
    assert HEADING in text
    return text[text.index(HEADING) :]


def titles_in(part: str, papers) -> list[str]:
    """The papers listed in `part` (not those named in a "Because you ..." note)."""
    flat = re.sub(r"Because you [^“]*“[^”]*”", "", " ".join(part.split()))
    return [p.arxiv_id for p in papers.values() if " ".join(p.title.split()) in flat]


def test_an_account_gets_papers_near_its_upvotes_with_the_reason_after_the_other_sections(
    smtp_server, model
):
    papers = new_real_papers(model)
    trending = featured(2)
    reader = UserFactory(email="ada@example.org")
    VoteFactory(user=reader, paper=papers[SEED])
    DigestSubscriptionFactory(email="ada@example.org", user=reader)

    send_due()

    [message] = smtp_server.messages
    text, html = body(message, "plain"), body(message, "html")
    assert text.index("TRENDING IN THE COMMUNITY") < text.index(trending[0].title)
    assert text.index(trending[0].title) < text.index(HEADING)
    part = recommended_part(text)
    shown = titles_in(part, papers)
    assert 1 <= len(shown) <= 5
    assert SEED not in shown  # what they upvoted is the reason, not a recommendation
    assert set(shown) & AGENT_PAPERS
    assert "Because you upvoted “ClawKeeper" in " ".join(part.split())
    assert "Recommended for you" in html and "Because you upvoted" in html


def test_recommendations_skip_papers_in_other_sections_sent_before_or_not_new(smtp_server, model):
    papers = new_real_papers(model)
    nearest, sent_before, old = "2605.29801", "2508.13167", "2503.02682"
    # In the trending list this period: listed there, not again as a recommendation.
    Paper.objects.filter(arxiv_id=nearest).update(daily_date=MONDAY, upvote_count=50)
    # First published a year ago: not new, whatever its score.
    Paper.objects.filter(arxiv_id=old).update(published_at=ON_MONDAY - dt.timedelta(days=365))
    reader = UserFactory(email="ada@example.org")
    SavedPaper.objects.save_paper(reader, papers[SEED])  # a saved paper counts too
    sub = DigestSubscriptionFactory(email="ada@example.org", user=reader)
    DigestSentPaper.objects.create(subscription=sub, paper_id=papers[sent_before].pk)

    send_due()

    [message] = smtp_server.messages
    text = body(message, "plain")
    flat = " ".join(text.split())
    assert flat.count(" ".join(papers[nearest].title.split())) == 1
    assert text.index(" ".join(papers[nearest].title.split()[:3])) < text.index(HEADING)
    shown = titles_in(recommended_part(text), papers)
    assert shown and not {nearest, sent_before, old} & set(shown)
    assert "Because you saved “ClawKeeper" in flat


def test_a_recommendation_is_never_sent_twice_and_visitors_get_none(smtp_server, model):
    papers = new_real_papers(model)
    featured(1)
    reader = UserFactory(email="ada@example.org")
    VoteFactory(user=reader, paper=papers[SEED])
    sub = DigestSubscriptionFactory(email="ada@example.org", user=reader)
    DigestSubscriptionFactory(email="visitor@example.org")

    send_due()
    by_to = {m["To"]: m for m in smtp_server.messages}
    assert HEADING not in body(by_to["visitor@example.org"], "plain")
    first = titles_in(recommended_part(body(by_to["ada@example.org"], "plain")), papers)
    assert first

    # Wednesday's issue: the same papers are still new (the look-back), never sent again.
    sub.refresh_from_db()
    send_due(now=NOON + dt.timedelta(days=1))
    later = [m for m in smtp_server.messages[2:] if m["To"] == "ada@example.org"]
    for message in later:
        text = body(message, "plain")
        if HEADING in text:
            assert not set(first) & set(titles_in(recommended_part(text), papers))
    sent = DigestSentPaper.objects.filter(subscription=sub).values_list("paper_id", flat=True)
    assert {papers[a].pk for a in first} <= set(sent)


def test_a_failing_section_leaves_it_out_and_the_digest_still_goes(smtp_server, model):
    featured(2)
    reader = UserFactory(email="ada@example.org")
    DigestSubscriptionFactory(email="ada@example.org", user=reader)

    def broken(user_ids, since, count):
        Paper.objects.raw("SELECT no_such_column FROM papers_paper")[0]  # aborts the query
        return {}

    sections.register_section("broken", "Broken", broken)
    try:
        result = send_due()
    finally:
        sections.unregister_section("broken")

    assert result.sent == 1
    [message] = smtp_server.messages
    assert "BROKEN" not in body(message, "plain")


def test_the_stored_sections_keep_each_recommendations_reason(smtp_server, model):
    from digests.models import DigestDelivery

    papers = new_real_papers(model)
    reader = UserFactory(email="ada@example.org")
    VoteFactory(user=reader, paper=papers[SEED])
    sub = DigestSubscriptionFactory(email="ada@example.org", user=reader)

    send_due()

    [stored] = DigestDelivery.objects.filter(subscription=sub).values_list("sections", flat=True)
    [rec] = [s for s in stored if s["kind"] == "recommended"]
    assert rec["label"] == "Recommended for you"
    assert len(rec["notes"]) == len(rec["papers"]) <= 5
    assert all(n.startswith("Because you upvoted “ClawKeeper") for n in rec["notes"])
    assert set(paper_ids(stored)) == set(rec["papers"])  # nothing trending this time

"""The digest as it arrives: sent through Django's SMTP backend to a real SMTP server
and read back with the email package."""

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client

from digests.models import (
    DigestDelivery,
    DigestSentPaper,
    FollowedAuthor,
    FollowedCategory,
    FollowedKeyword,
)
from digests.periods import offer_reach_days
from digests.selection import paper_ids
from digests.tasks import prune_digest_history
from papers.models import Author, Paper

from .digest_helpers import (
    DAILY,
    MONDAY,
    NOON,
    ON_MONDAY,
    body,
    featured,
    links,
    send_due,
    site_path,
)
from .factories import DigestSubscriptionFactory, PaperFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_subscriber_gets_the_periods_trending_papers_with_the_date_in_the_subject(
    smtp_server,
):
    papers = featured(12)
    DigestSubscriptionFactory(email="ada@example.org")

    result = send_due()

    assert result.sent == 1
    [message] = smtp_server.messages
    assert message["To"] == "ada@example.org"
    assert message["From"] == settings.DIGEST_FROM_EMAIL
    assert "Trending papers" in message["Subject"]
    assert DAILY.subject_date in message["Subject"]  # e.g. "Tue 14 Jan 2025"
    text, html = body(message, "plain"), body(message, "html")
    # The top ten of the period, most upvoted first, in both parts.
    for part in (text, html):
        positions = [part.index(p.title) for p in papers[:10]]
        assert positions == sorted(positions)
        assert papers[10].title not in part
    assert "Grace Hopper 0, Alan Turing" in text
    assert "▲ 100 upvotes" in text
    assert papers[0].abstract[:40] in text and papers[0].abstract[:40] in html
    assert f"{settings.SITE_URL}/papers/{papers[0].arxiv_id}/" in text


def test_the_message_has_one_click_unsubscribe_headers_and_a_stable_message_id(smtp_server):
    featured(3)
    sub = DigestSubscriptionFactory()
    send_due()

    [message] = smtp_server.messages
    unsubscribe = message["List-Unsubscribe"].strip()  # long: folded onto its own line
    assert unsubscribe.startswith(f"<{settings.SITE_URL}/digest/unsubscribe/")
    assert unsubscribe.endswith("/one-click/>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The body links to the page, which asks; the header's URL takes the client's POST.
    page = unsubscribe[1 : -len("one-click/>")]
    assert page in body(message, "plain") and page in body(message, "html")
    assert "one-click" not in body(message, "plain") + body(message, "html")
    assert "one click" not in body(message, "plain").lower()  # the link opens a page
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        site_path(unsubscribe[1:-1]),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    sub.refresh_from_db()
    assert sub.pause_reason == "unsubscribed"
    delivery = DigestDelivery.objects.get(subscription=sub)
    assert message["Message-ID"] == f"<digest.{DAILY.key}.{delivery.pk}@testserver>"
    assert message["List-Id"]


def test_the_html_part_is_inlined_and_readable_in_dark_mode(smtp_server):
    featured(2)
    DigestSubscriptionFactory()
    send_due()

    [message] = smtp_server.messages
    assert message.get_content_type() == "multipart/alternative"
    html = body(message, "html")
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html
    # Styles are on the elements themselves, with explicit colours.
    assert 'class="paper-title"' in html and 'style="margin: 0 0 4px;' in html
    assert "color: #18181b" in html and "background-color: #ffffff" in html
    # No line reaches SMTP's limit, so nothing needs quoted-printable.
    raw = smtp_server.envelopes[0].original_content
    assert max(len(line) for line in raw.split(b"\r\n")) < 998
    assert b"quoted-printable" not in raw


def test_every_link_in_both_parts_resolves_on_the_site(smtp_server, client):
    user = UserFactory(username="ada", email="ada@example.org")
    featured(3)
    FollowedCategory.objects.create(user=user, category="cs.LG")
    PaperFactory(daily_date=None, title="An indexed, never featured paper")
    DigestSubscriptionFactory(email="ada@example.org", user=user)
    DigestSubscriptionFactory(email="visitor@example.org")
    send_due()

    assert len(smtp_server.messages) == 2
    client.force_login(user)  # the account's digest links to its settings page
    checked = 0
    for message in smtp_server.messages:
        for url in set(links(message)[0] + links(message)[1]):
            if url.startswith("https://arxiv.org/abs/"):
                continue
            response = client.get(site_path(url))
            assert response.status_code == 200, url
            checked += 1
    assert checked >= 12


def test_view_in_browser_shows_the_digest_as_mailed(smtp_server, client):
    papers = featured(2)
    DigestSubscriptionFactory()
    send_due()

    [message] = smtp_server.messages
    [view] = [u for u in links(message)[1] if "/digest/view/" in u]
    page = client.get(site_path(view))
    assert page.status_code == 200
    assert page["X-Robots-Tag"] == "noindex"
    content = page.content.decode()
    assert papers[0].title in content and papers[1].title in content
    assert "View in browser" in content

    token = site_path(view).split("/")[3]
    altered = token[:-2] + ("xx" if token[-2:] != "xx" else "yy")
    assert client.get(f"/digest/view/{altered}/").status_code == 400
    forged = token.replace(token.split(":")[0], str(int(token.split(":")[0]) + 1), 1)
    assert client.get(f"/digest/view/{forged}/").status_code == 400


def test_personal_sections_follow_the_trending_list_for_accounts(smtp_server):
    user = UserFactory(email="ada@example.org")
    trending = featured(2)
    hinton = Author.objects.create(
        name="Geoffrey Hinton", normalised_name="geoffrey hinton", slug="geoffrey-hinton"
    )
    FollowedAuthor.objects.create(user=user, author=hinton)
    FollowedCategory.objects.create(user=user, category="q-bio.NC")
    FollowedKeyword.objects.create(user=user, keyword="spiking")
    new = {"daily_date": None, "published_at": ON_MONDAY}
    by_author = PaperFactory(**new, authors=["Geoffrey Hinton"], title="Forward-Forward")
    in_category = PaperFactory(
        **new, categories=["q-bio.NC"], primary_category="q-bio.NC", title="Grid cells"
    )
    matching = PaperFactory(**new, title="Spiking networks learn to count")
    old = PaperFactory(
        daily_date=None,
        published_at=ON_MONDAY - dt.timedelta(days=30),  # indexed just now, all the same
        authors=["Geoffrey Hinton"],
        title="Old Hinton paper",
    )
    DigestSubscriptionFactory(email="ada@example.org", user=user)

    send_due()

    [message] = smtp_server.messages
    text = body(message, "plain")
    order = [
        text.index("TRENDING IN THE COMMUNITY"),
        text.index(trending[1].title),
        text.index("NEW FROM AUTHORS YOU FOLLOW"),
        text.index(by_author.title),
        text.index("NEW IN Q-BIO.NC"),
        text.index(in_category.title),
        text.index("NEW PAPERS MATCHING “SPIKING”"),
        text.index(matching.title),
    ]
    assert order == sorted(order)
    assert old.title not in text  # not new this period
    assert "New from authors you follow" in body(message, "html")


def test_a_paper_is_never_sent_to_the_same_person_twice(smtp_server):
    user = UserFactory(email="ada@example.org")
    [paper] = featured(1, authors=["Yoshua Bengio"])
    FollowedAuthor.objects.create(user=user, author=Author.objects.get(name="Yoshua Bengio"))
    sub = DigestSubscriptionFactory(email="ada@example.org", user=user)

    send_due()  # Tuesday: the paper is trending (and by a followed author: listed once)
    [tuesday] = smtp_server.messages
    assert body(tuesday, "plain").count(paper.title) == 1

    # Wednesday: still new by the followed author, and now a weekly subscriber would see
    # it in the week's list; the same inbox never gets it again.
    sub.frequency = "weekly"
    sub.save()
    wednesday = NOON + dt.timedelta(days=1)
    fresh = PaperFactory(
        daily_date=None, published_at=wednesday, authors=["Yoshua Bengio"], title="A newer one"
    )
    send_due(now=wednesday + dt.timedelta(days=6))
    [_, later] = smtp_server.messages
    assert paper.title not in body(later, "plain")
    assert fresh.title in body(later, "plain")
    sent = DigestDelivery.objects.filter(subscription=sub).values_list("sections", flat=True)
    ids = [pk for sections in sent for pk in paper_ids(sections)]
    assert sorted(ids) == sorted([paper.pk, fresh.pk])
    recorded = DigestSentPaper.objects.filter(subscription=sub).values_list("paper_id", flat=True)
    assert sorted(recorded) == sorted(ids)


def test_no_email_when_there_is_nothing_new(smtp_server):
    sub = DigestSubscriptionFactory()
    featured(2, day=MONDAY - dt.timedelta(days=7))  # last week's papers only

    result = send_due()

    assert smtp_server.messages == []
    assert result.skipped == 1 and result.sent == 0
    delivery = DigestDelivery.objects.get(subscription=sub)
    assert delivery.status == DigestDelivery.Status.SKIPPED
    # Settled: the planner doesn't come back to it every five minutes.
    assert send_due(now=NOON + dt.timedelta(hours=1)).as_dict() == {k: 0 for k in result.as_dict()}


def test_only_confirmed_active_subscriptions_get_it_at_their_local_send_hour(smtp_server):
    featured(2)
    DigestSubscriptionFactory(email="pending@example.org", confirmed_at=None)
    DigestSubscriptionFactory(email="left@example.org", paused_at=NOON, pause_reason="unsubscribed")
    DigestSubscriptionFactory(email="evening@example.org", send_hour=18)  # UTC
    DigestSubscriptionFactory(email="kolkata@example.org", time_zone="Asia/Kolkata", send_hour=18)
    DigestSubscriptionFactory(email="bogota@example.org", time_zone="America/Bogota", send_hour=8)

    assert send_due().sent == 0  # 12:00 UTC is 17:30 in Kolkata, 07:00 in Bogotá
    assert send_due(now=NOON + dt.timedelta(hours=1)).sent == 2
    assert sorted(smtp_server.recipients()) == ["bogota@example.org", "kolkata@example.org"]
    assert send_due(now=NOON + dt.timedelta(hours=6)).sent == 1
    assert smtp_server.recipients()[-1] == "evening@example.org"
    assert send_due(now=NOON + dt.timedelta(hours=7)).sent == 0


def test_a_paper_with_an_overlong_line_still_arrives_intact(smtp_server):
    """Bodies go as 8bit, which SMTP limits to 998 bytes a line; a longer line makes
    the mail fall back to quoted-printable rather than break."""
    [paper] = featured(1, title="Deep " * 250)  # one 1,250-character line in the HTML
    DigestSubscriptionFactory(email="long@example.org")
    featured_titles = " ".join(paper.title.split())

    send_due()

    [message] = smtp_server.messages
    raw = smtp_server.envelopes[0].original_content
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"quoted-printable" in raw
    assert featured_titles in body(message, "html")
    assert message["To"] == "long@example.org"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_paper_indexed_long_ago_and_featured_now_is_in_the_trending_list(smtp_server):
    """When we indexed a paper says nothing about when it is news: featured on Monday,
    it is in Tuesday's list, even if the period has nothing else."""
    [paper] = featured(1, title="An old friend, featured at last")
    Paper.objects.filter(pk=paper.pk).update(created_at=NOON - dt.timedelta(days=400))
    DigestSubscriptionFactory()

    assert send_due().sent == 1
    assert paper.title in body(smtp_server.messages[0], "plain")


def test_a_backfilled_old_paper_is_not_new_in_a_followed_category(smtp_server):
    """An OAI-PMH or snapshot backfill indexes papers today that arXiv published long
    ago: none of them is "new"."""
    user = UserFactory(email="ada@example.org")
    FollowedCategory.objects.create(user=user, category="hep-th")
    featured(1)
    hep_th = {"daily_date": None, "categories": ["hep-th"], "primary_category": "hep-th"}
    old = PaperFactory(
        **hep_th,
        published_at=dt.datetime(1999, 3, 4, tzinfo=dt.UTC),
        title="D-branes from 1999, indexed today",
    )
    new = PaperFactory(**hep_th, published_at=ON_MONDAY, title="Fresh strings")
    DigestSubscriptionFactory(email="ada@example.org", user=user)

    send_due()

    text = body(smtp_server.messages[0], "plain")
    assert "NEW IN HEP-TH" in text and new.title in text
    assert old.title not in text


def test_a_paper_sent_months_ago_is_not_sent_again_when_it_is_featured(smtp_server):
    user = UserFactory(email="ada@example.org")
    FollowedCategory.objects.create(user=user, category="cs.LG")
    DigestSubscriptionFactory(email="ada@example.org", user=user)
    months_ago = NOON - dt.timedelta(weeks=14)
    paper = PaperFactory(
        daily_date=None, published_at=months_ago - dt.timedelta(days=1), title="Early bird"
    )

    assert send_due(now=months_ago).sent == 1  # new in cs.LG back then
    assert paper.title in body(smtp_server.messages[0], "plain")

    # Featured on Monday, far past any time window: still not sent again.
    Paper.objects.filter(pk=paper.pk).update(daily_date=MONDAY)
    result = send_due()
    assert (result.sent, result.skipped) == (0, 1)
    assert len(smtp_server.messages) == 1


def test_papers_that_cant_be_offered_again_are_forgotten():
    sub = DigestSubscriptionFactory()
    long_ago = NOON - dt.timedelta(days=offer_reach_days() + 1)
    old = PaperFactory(daily_date=long_ago.date(), published_at=long_ago)
    recent = PaperFactory(daily_date=MONDAY, published_at=long_ago)  # featured lately
    never_featured = PaperFactory(daily_date=None, published_at=long_ago)  # may be, one day
    for paper in (old, recent, never_featured):
        DigestSentPaper.objects.create(subscription=sub, paper_id=paper.pk)

    assert prune_digest_history() == 1

    kept = DigestSentPaper.objects.values_list("paper_id", flat=True)
    assert sorted(kept) == sorted([recent.pk, never_featured.pk])

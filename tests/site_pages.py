"""The site as a reader sees it, for the checks that go over every page (the Nu HTML
Checker, axe-core, screenshots): the demo data `make run` shows (two weeks of real
papers, demo users, votes), one signed-in reader with a digest, and the list of pages,
each as a visitor or as that reader."""

import dataclasses
import datetime as dt

from django.utils import timezone

from digests import tokens
from digests.models import DigestSubscription, FollowedAuthor
from ingest import demo
from papers.dates import day_period, month_of, week_of
from papers.models import Paper
from semantic import embedding

from .accounts_helpers import verified
from .factories import DigestSubscriptionFactory, UserFactory
from .signals_helpers import add_signals


def _discussion(paper, reader, voter):
    """A short discussion on `paper`: a thread with a reply that mentions the reader
    (who gets a notification), and a comment a moderator hid (a line in the log)."""
    from discussion.models import Comment
    from moderation.models import hide_comment

    first = Comment.post(paper, voter, "Does the *main result* need $\\alpha > 0$?")
    Comment.post(paper, reader, "@" + voter.username + " no: see Section 4.", parent=first)
    Comment.post(paper, voter, "Thanks @" + reader.username + ", that settles it.", parent=first)
    spam = Comment.post(paper, voter, "Buy followers at example dot com")
    hide_comment(None, spam, "Advertising")
    return first, f"{paper.get_absolute_url()}comments/"


@dataclasses.dataclass(frozen=True)
class SitePage:
    name: str  # a file name for screenshots and reports
    url: str
    signed_in: bool = False
    status: int = 200
    form: dict | None = None  # POSTed instead of a GET: a form sent back with its errors


def build_site(settings):
    """Load the demo and add a reader who has voted, follows an author and gets the
    digest. Returns (reader, the pages). Lists show 10 papers a page: enough to check
    the card and the pagination, and quicker to check than 30."""
    settings.PAPERS_PER_PAGE = 10
    demo.load()
    reader = verified(UserFactory(username="reader", display_name="Rita Reader"))
    add_signals(settings, timezone.localdate())  # issue 13: thumbnails, stars, artifacts
    paper = Paper.objects.visible().filter(daily_date=timezone.localdate()).ranked().first()
    paper.add_vote(reader)
    author = paper.authorships.order_by("position").first().author
    FollowedAuthor.objects.create(user=reader, author=author)
    DigestSubscription.objects.create(
        user=reader, email=reader.email, confirmed_at=timezone.now(), time_zone="UTC"
    )
    visitor_sub = DigestSubscriptionFactory(email="visitor@example.org", confirmed_at=None)
    today = timezone.localdate()
    older_day = today - dt.timedelta(days=3)
    voter = paper.votes.exclude(user=reader).select_related("user").first().user
    # The library (issue 15): a saved paper and a public collection with a note.
    from library.models import Collection, SavedPaper

    SavedPaper.objects.save_paper(reader, paper)
    collection = Collection.objects.create_named(reader, "Reading group", "Weekly", "public")
    collection.add_paper(paper, note="**Why**: the main result, $O(n \\log n)$.")
    first, comments_url = _discussion(paper, reader, voter)
    # Search by meaning (the real model) over the last three days' papers.
    embedding.embed_pending(
        papers=Paper.objects.filter(daily_date__gte=today - dt.timedelta(days=2))
    )

    pages = [
        SitePage("daily", "/"),
        SitePage("day", f"/papers/date/{day_period(older_day).slug}/"),
        SitePage("week", f"/papers/week/{week_of(today).slug}/"),
        SitePage("month", f"/papers/month/{month_of(today).slug}/"),
        SitePage("trending", "/trending/"),
        SitePage("daily-has-code", "/?has_code=1"),
        SitePage("new", "/new/"),
        SitePage("paper", paper.get_absolute_url()),
        SitePage("author", author.get_absolute_url()),
        SitePage("search", "/search/?q=language+models"),
        SitePage("search-empty", "/search/?q=zzyzx+quokka"),
        SitePage("search-form", "/search/"),
        # "Did you mean" as a page of its own (a search that found a few, without JavaScript).
        SitePage("search-spelling", "/search/spelling/?q=langauge+models&mode=keyword"),
        SitePage("search-meaning", "/search/?q=robots+learning+from+videos&mode=semantic"),
        SitePage("more-like-this", f"/search/?like={paper.arxiv_id}"),
        SitePage("about-ranking", "/about/ranking/"),
        SitePage("api-docs", "/api/"),
        SitePage("not-found", "/no/such/page/", status=404),
        SitePage("sign-in", "/accounts/login/"),
        SitePage("sign-up", "/accounts/signup/"),
        SitePage("password-reset", "/accounts/password/reset/"),
        SitePage("profile", f"/u/{voter.username}/"),
        SitePage("digest-subscribe", "/digest/subscribe/"),
        SitePage("digest-confirm", f"/digest/confirm/{tokens.confirm_token(visitor_sub)}/"),
        SitePage(
            "digest-manage", f"/digest/unsubscribe/{tokens.unsubscribe_token(visitor_sub.pk)}/"
        ),
        SitePage("digest-bad-link", "/digest/unsubscribe/forged/", status=400),
        # Signed in as the reader.
        SitePage("daily-signed-in", "/", signed_in=True),
        SitePage("for-you", "/for-you/", signed_in=True),
        SitePage("paper-signed-in", paper.get_absolute_url(), signed_in=True),
        SitePage("own-profile", "/u/reader/?show=upvoted", signed_in=True),
        SitePage("settings", "/settings/", signed_in=True),
        SitePage("settings-email", "/accounts/email/", signed_in=True),
        SitePage("settings-digest", "/settings/digest/", signed_in=True),
        SitePage("settings-password", "/accounts/password/change/", signed_in=True),
        SitePage("settings-connections", "/accounts/3rdparty/", signed_in=True),
        SitePage("settings-2fa", "/accounts/2fa/", signed_in=True),
        # Deleting the account asks to confirm the password first (allauth's
        # reauthentication); the deletion form itself is covered by the account tests.
        SitePage(
            "reauthenticate", "/accounts/reauthenticate/?next=/settings/delete/", signed_in=True
        ),
        SitePage("submit", "/submit/", signed_in=True),
        SitePage("library", "/library/", signed_in=True),
        SitePage("library-search", "/library/?q=model&unread=on", signed_in=True),
        SitePage("collection", collection.get_absolute_url(), signed_in=True),
        SitePage("collection-visitor", collection.get_absolute_url()),
        SitePage("collections", "/collections/reader/"),
        SitePage("collection-new", "/collections/new/", signed_in=True),
        SitePage("library-import", "/library/import/", signed_in=True),
        # Forms sent back with errors.
        SitePage("sign-in-errors", "/accounts/login/", form={"login": "x@example.org"}),
        SitePage(
            "sign-up-errors",
            "/accounts/signup/",
            form={"email": "not-an-address", "username": "reader", "password1": "a"},
        ),
        SitePage(
            "digest-subscribe-errors", "/digest/subscribe/", form={"email": "ada@"}, status=400
        ),
        SitePage("submit-errors", "/submit/", signed_in=True, form={"paper": "not an id"}),
        SitePage(
            "library-import-results",
            "/library/import/",
            signed_in=True,
            form={"ids": f"{paper.arxiv_id}\nnot-an-id"},
        ),
        SitePage(
            "collection-new-errors",
            "/collections/new/",
            signed_in=True,
            form={"name": "", "visibility": "nope"},
            status=400,
        ),
        # The discussion (issue 14).
        SitePage("moderation-log", "/moderation/"),
        SitePage("user-comments", f"/u/{voter.username}/comments/"),
        SitePage("notifications", "/notifications/", signed_in=True),
        SitePage("comment-reply", f"{comments_url}{first.pk}/reply/", signed_in=True),
        SitePage("comment-flag", f"{comments_url}{first.pk}/flag/", signed_in=True),
        SitePage(
            "comment-preview",
            comments_url,
            signed_in=True,
            form={"body": "**Bold** and $x^2$", "preview": "1"},
        ),
        SitePage("comment-errors", comments_url, signed_in=True, form={"body": ""}, status=400),
    ]
    return reader, pages

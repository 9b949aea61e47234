"""Comments under papers (issue 14): posting, threads, editing, deleting, votes, badges,
limits, feeds and the page's query count."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuthorClaim
from discussion.models import MAX_DEPTH, Comment, CommentRevision, CommentVote
from papers.models import Paper

from .discussion_helpers import action_url, comment_on, member, post_url
from .factories import PaperFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def paper():
    return PaperFactory(arxiv_id="2411.00001", authors=["Ada Lovelace", "Alan Turing"])


@pytest.fixture
def alice():
    return member("alice")


@pytest.fixture
def bob():
    return member("bob")


def count_of(paper):
    return Paper.objects.get(pk=paper.pk).comment_count


# --- Posting ------------------------------------------------------------------------


def test_a_comment_posted_without_javascript_redirects_to_its_anchor(client, paper, alice):
    client.force_login(alice)
    response = client.post(post_url(paper), {"body": "Does this hold for *sparse* attention?"})
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/papers/2411.00001/#comment-{comment.pk}"
    assert comment.body_html == "<p>Does this hold for <em>sparse</em> attention?</p>\n"
    assert count_of(paper) == 1
    html = client.get(paper.get_absolute_url()).content.decode()
    assert f'id="comment-{comment.pk}"' in html and "<em>sparse</em>" in html


def test_a_reply_posted_with_htmx_comes_back_as_a_fragment_placed_under_its_parent(
    client, paper, alice, bob
):
    parent = comment_on(paper, alice, "First!")
    client.force_login(bob)
    response = client.post(post_url(paper), {"body": "A reply", "parent": parent.pk}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    reply = Comment.objects.get(parent=parent)
    assert f'hx-swap-oob="beforeend:#replies-{parent.pk}"' in html
    assert f'id="comment-{reply.pk}"' in html
    assert '<span class="count" id="comment-count" hx-swap-oob="true">2</span>' in html
    assert reply.depth == 1 and count_of(paper) == 2


def test_a_signed_out_visitor_is_sent_to_sign_in(client, paper):
    response = client.post(post_url(paper), {"body": "Hello"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Comment.objects.exists()


def test_a_get_of_the_comments_url_goes_to_the_discussion(client, paper):
    response = client.get(post_url(paper))
    assert response.status_code == 302
    assert response["Location"] == "/papers/2411.00001/#discussion"


@pytest.mark.parametrize(
    "body, error",
    [
        ("x" * 10_001, "Keep comments under 10,000 characters"),
        ("null \x00 byte", "Null characters are not allowed."),
        ("   ", "This field is required."),
    ],
    ids=["10 kB", "NUL", "blank"],
)
def test_bad_bodies_get_a_form_error_and_lose_nothing(client, paper, alice, body, error):
    client.force_login(alice)
    response = client.post(post_url(paper), {"body": body})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Comment.objects.exists() and count_of(paper) == 0
    response = client.post(post_url(paper), {"body": body}, **HTMX)
    assert response.status_code == 400 and error in response.content.decode()


def test_a_nul_in_the_parent_field_is_a_form_error(client, paper, alice):
    client.force_login(alice)
    response = client.post(post_url(paper), {"body": "Hi", "parent": "1\x00"})
    assert response.status_code == 400


def test_a_reply_to_a_comment_of_another_paper_is_refused(client, paper, alice):
    other = comment_on(PaperFactory(), alice, "Elsewhere")
    client.force_login(alice)
    response = client.post(post_url(paper), {"body": "Hi", "parent": other.pk})
    assert response.status_code == 400
    assert "no longer there to reply to" in response.content.decode()


def test_the_preview_renders_the_markdown_and_saves_nothing(client, paper, alice):
    client.force_login(alice)
    data = {"body": "**bold** and $x_1$", "preview": "1"}
    response = client.post(post_url(paper), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>bold</strong> and $x_1$" in html
    assert "**bold** and $x_1$</textarea>" in html  # the text is kept for posting
    assert not Comment.objects.exists()


def test_the_same_comment_twice_in_a_row_is_refused(client, paper, alice):
    client.force_login(alice)
    client.post(post_url(paper), {"body": "Great paper"})
    response = client.post(post_url(paper), {"body": "Great  paper "})
    assert response.status_code == 400
    assert "You have just posted this comment" in response.content.decode()
    assert Comment.objects.count() == 1


def test_the_same_comment_right_after_on_another_paper_is_refused_too(client, paper, alice):
    client.force_login(alice)
    client.post(post_url(paper), {"body": "Great paper"})
    response = client.post(post_url(PaperFactory()), {"body": "Great paper"})
    assert response.status_code == 400
    assert "You have just posted this comment" in response.content.decode()


def test_a_comment_deleted_by_its_author_may_be_posted_again(client, paper, alice):
    client.force_login(alice)
    client.post(post_url(paper), {"body": "Second thoughts"})
    Comment.objects.get().delete_by_author()
    response = client.post(post_url(paper), {"body": "Second thoughts"}, **HTMX)
    assert response.status_code == 200
    assert Comment.objects.live().count() == 1
    assert count_of(paper) == 1


def test_posting_asks_the_database_five_times_and_answers_the_new_count(client, paper, alice):
    # The session, the user, the paper, the thread's state with what posting checks (a
    # new account? the same text again?), then the row and its count in one statement.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    comment_on(paper, member("bob"), "First")
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(post_url(paper), {"body": "Second"}, **HTMX)
    assert response.status_code == 200
    # Less the savepoint the test's own transaction adds (a request has none).
    asked = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(asked) <= (5 if connection.vendor == "postgresql" else 10), asked
    assert '<span class="count" id="comment-count" hx-swap-oob="true">2</span>' in (
        response.content.decode()
    )
    assert count_of(paper) == 2 and Paper.objects.get(pk=paper.pk).comment_count == 2


def test_the_database_refuses_a_duplicate_in_the_same_place(paper, alice):
    comment_on(paper, alice, "Same text")
    comment_on(PaperFactory(), alice, "between")
    with pytest.raises(Comment.Duplicate):
        Comment.post(paper, alice, "Same text")
    assert count_of(paper) == 1


def test_commenting_too_fast_answers_429(client, paper, alice, settings):
    settings.COMMENT_RATE_LIMIT = "2/d"
    client.force_login(alice)
    for n in range(2):
        assert client.post(post_url(paper), {"body": f"Point {n}"}).status_code == 302
    response = client.post(post_url(paper), {"body": "Point 3"})
    assert response.status_code == 429
    assert "commenting too fast" in response.content.decode()
    assert Comment.objects.count() == 2


def test_new_accounts_post_no_links_and_few_comments_a_day(client, paper, settings):
    settings.NEW_ACCOUNT_COMMENTS_PER_DAY = 2
    newbie = member("newbie", days=0)
    client.force_login(newbie)
    for body in ["See [my site](https://spam.example)", "visit www.spam.example now"]:
        response = client.post(post_url(paper), {"body": body})
        assert response.status_code == 400
        assert "New accounts can&#x27;t post links" in response.content.decode()
    assert client.post(post_url(paper), {"body": "One"}).status_code == 302
    assert client.post(post_url(paper), {"body": "Two"}).status_code == 302
    response = client.post(post_url(paper), {"body": "Three"})
    assert response.status_code == 429 and "come back tomorrow" in response.content.decode()
    assert Comment.objects.count() == 2


def test_an_unverified_account_counts_as_new(client, paper):
    unverified = member("unverified", days=300, verify=False)
    client.force_login(unverified)
    response = client.post(post_url(paper), {"body": "https://example.org"})
    assert response.status_code == 400


def test_an_established_account_may_post_links(client, paper, alice):
    client.force_login(alice)
    client.post(post_url(paper), {"body": "Code: [repo](https://github.com/x/y)"})
    html = Comment.objects.get().body_html
    assert html == (
        '<p>Code: <a href="https://github.com/x/y" rel="nofollow ugc noopener">repo</a></p>\n'
    )


# --- Threads ------------------------------------------------------------------------


def _ids_in_order(html):
    return [
        int(pk) for pk in re.findall(r'<article class="comment level-\d+" id="comment-(\d+)"', html)
    ]


def test_best_order_ranks_by_upvotes_and_newest_by_time(client, paper, alice, bob):
    old = comment_on(paper, alice, "old")
    popular = comment_on(paper, bob, "popular")
    new = comment_on(paper, alice, "new")
    Comment.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))
    Comment.objects.filter(pk=popular.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    popular.add_vote(member("carol"))
    best = _ids_in_order(client.get(paper.get_absolute_url()).content.decode())
    newest = _ids_in_order(client.get(paper.get_absolute_url() + "?sort=newest").content.decode())
    assert best == [popular.pk, old.pk, new.pk]
    assert newest == [new.pk, popular.pk, old.pk]


def test_replies_nest_then_flatten_past_the_limit(client, paper, alice, bob):
    chain = [comment_on(paper, alice, "level 0")]
    for depth in range(1, MAX_DEPTH + 4):
        author = bob if depth % 2 else alice
        chain.append(comment_on(paper, author, f"level {depth}", parent=chain[-1]))
    html = client.get(paper.get_absolute_url()).content.decode()
    levels = re.findall(r'<article class="comment level-(\d+)" id="comment-(\d+)"', html)
    assert [int(level) for level, _ in levels] == [0, 1, 2, 3, 4, 4, 4]
    assert [int(pk) for _, pk in levels] == [c.pk for c in chain]
    # Flattened replies say whom they answer.
    answered = chain[-2]
    assert f'replying to <a href="#comment-{answered.pk}">@{answered.author.username}</a>' in html


def test_a_deleted_comment_keeps_its_replies_in_place(client, paper, alice, bob):
    parent = comment_on(paper, alice, "Original point")
    reply = comment_on(paper, bob, "Answer", parent=parent)
    client.force_login(alice)
    response = client.post(action_url("delete", parent))
    assert response.status_code == 302
    parent.refresh_from_db()
    assert parent.is_deleted and parent.body == "" and count_of(paper) == 1
    assert CommentRevision.objects.get(comment=parent).body == "Original point"
    html = client.get(paper.get_absolute_url()).content.decode()
    assert "Comment deleted by its author." in html and "Original point" not in html
    assert f'id="comment-{reply.pk}"' in html


def test_a_deleted_comment_without_replies_leaves_no_trace(client, paper, alice):
    comment = comment_on(paper, alice, "Oops")
    comment_on(paper, alice, "Another")
    comment.delete_by_author()
    html = client.get(paper.get_absolute_url()).content.decode()
    assert f'id="comment-{comment.pk}"' not in html


def test_a_paper_without_comments_invites_one(client, paper):
    html = client.get(paper.get_absolute_url()).content.decode()
    assert "No comments yet." in html and "to join the discussion" in html


# --- Editing and deleting -----------------------------------------------------------


def test_the_author_edits_within_the_window_and_the_edit_is_marked(client, paper, alice):
    comment = comment_on(paper, alice, "Frist")
    client.force_login(alice)
    assert client.get(action_url("edit", comment)).status_code == 200
    response = client.post(action_url("edit", comment), {"body": "First"}, **HTMX)
    assert response.status_code == 200 and "edited" in response.content.decode()
    comment.refresh_from_db()
    assert comment.body == "First" and comment.edited_at is not None
    assert list(comment.revisions.values_list("body", flat=True)) == ["Frist"]


def test_editing_closes_after_the_window(client, paper, alice, settings):
    comment = comment_on(paper, alice, "Late")
    Comment.objects.filter(pk=comment.pk).update(
        created_at=timezone.now() - dt.timedelta(seconds=settings.COMMENT_EDIT_WINDOW + 1)
    )
    client.force_login(alice)
    assert client.post(action_url("edit", comment), {"body": "Changed"}).status_code == 403
    assert Comment.objects.get(pk=comment.pk).body == "Late"


def test_another_user_can_neither_edit_nor_delete(client, paper, alice, bob):
    comment = comment_on(paper, alice, "Mine")
    client.force_login(bob)
    assert client.post(action_url("edit", comment), {"body": "Yours"}).status_code == 403
    assert client.post(action_url("delete", comment)).status_code == 403
    comment.refresh_from_db()
    assert comment.body == "Mine" and not comment.is_deleted
    html = client.get(paper.get_absolute_url()).content.decode()
    assert action_url("edit", comment) not in html and action_url("delete", comment) not in html


def test_only_moderators_see_the_history(client, paper, alice, bob):
    comment = comment_on(paper, alice, "v1")
    comment.edit("v2")
    client.force_login(bob)
    assert client.get(action_url("history", comment)).status_code == 403
    Group.objects.create(name="moderator").user_set.add(bob)
    html = client.get(action_url("history", comment)).content.decode()
    assert "v1" in html and "v2" in html


# --- Votes and badges ---------------------------------------------------------------


def test_comment_upvotes_are_one_per_user_and_counted_exactly(client, paper, alice, bob):
    comment = comment_on(paper, alice, "Vote for me")
    client.force_login(bob)
    for _ in range(2):
        client.post(action_url("vote", comment), {"action": "up"})
    assert Comment.objects.get(pk=comment.pk).score == 1
    assert CommentVote.objects.count() == 1
    response = client.post(action_url("vote", comment), {"action": "remove"}, **HTMX)
    assert response.status_code == 200 and 'aria-pressed="false"' in response.content.decode()
    assert Comment.objects.get(pk=comment.pk).score == 0


def test_nobody_upvotes_their_own_comment(client, paper, alice):
    comment = comment_on(paper, alice, "Self")
    client.force_login(alice)
    response = client.post(action_url("vote", comment), {"action": "up"}, **HTMX)
    assert response.status_code == 403
    assert Comment.objects.get(pk=comment.pk).score == 0


def test_badges_show_the_author_the_submitter_and_the_moderator(client, paper, alice, bob):
    author_user, mod = member("ada"), member("mod", is_staff=True)
    ada = paper.authorships.get(position=0).author
    AuthorClaim.objects.create(user=author_user, author=ada, status=AuthorClaim.APPROVED)
    type(ada).objects.filter(pk=ada.pk).update(claimed_by=author_user)
    Paper.objects.filter(pk=paper.pk).update(submitted_by=bob)
    comment_on(paper, author_user, "I wrote it")
    comment_on(paper, bob, "I submitted it")
    comment_on(paper, mod, "I moderate")
    comment_on(paper, alice, "I read it")
    html = client.get(paper.get_absolute_url()).content.decode()
    assert html.count('class="badge badge-author"') == 1
    assert html.count('class="badge badge-submitter"') == 1
    assert html.count('class="badge badge-moderator"') == 1


def test_a_comment_posted_with_htmx_comes_back_with_its_authors_badges(client, paper, alice):
    # The fragment is drawn from the thread's state, not read back (discussion.views).
    author_user = member("ada")
    ada = paper.authorships.get(position=0).author
    AuthorClaim.objects.create(user=author_user, author=ada, status=AuthorClaim.APPROVED)
    type(ada).objects.filter(pk=ada.pk).update(claimed_by=author_user)
    Group.objects.get_or_create(name="moderator")[0].user_set.add(author_user)
    Paper.objects.filter(pk=paper.pk).update(submitted_by=author_user)
    client.force_login(author_user)
    html = client.post(post_url(paper), {"body": "I wrote it"}, **HTMX).content.decode()
    for badge in ("author", "submitter", "moderator"):
        assert html.count(f'class="badge badge-{badge}"') == 1
    assert ">Edit</a>" in html and ">Delete</button>" in html
    client.force_login(alice)
    html = client.post(post_url(paper), {"body": "I read it"}, **HTMX).content.decode()
    assert "badge" not in html


# --- Cards, API, feeds, profiles ----------------------------------------------------


def test_cards_and_the_api_show_the_comment_count(client, paper, alice):
    comment_on(paper, alice, "One")
    comment_on(paper, alice, "Two")
    html = client.get("/").content.decode()
    assert '#discussion">2 comments</a>' in html
    assert client.get(f"/api/papers/{paper.arxiv_id}").json()["comments"] == 2


def test_the_discussion_feed_lists_shown_comments(client, paper, alice):
    comment_on(paper, alice, "Shown <b>text</b>")
    hidden = comment_on(paper, alice, "Hidden")
    Comment.objects.filter(pk=hidden.pk).update(hidden_at=timezone.now())
    response = client.get(reverse("discussion:feed", args=[paper.arxiv_id]))
    body = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom")
    assert "Shown &amp;lt;b&amp;gt;text&amp;lt;/b&amp;gt;" in body and "Hidden" not in body


def test_a_profile_lists_the_users_comments_with_a_feed(client, paper, alice):
    comment_on(paper, alice, "My view")
    html = client.get(reverse("discussion:user_comments", args=["alice"])).content.decode()
    assert "My view" in html and paper.title in html
    feed = client.get(reverse("discussion:user_feed", args=["alice"])).content.decode()
    assert "My view" in feed
    assert (
        reverse("discussion:user_comments", args=["alice"])
        in client.get("/u/alice/").content.decode()
    )


# --- Queries ------------------------------------------------------------------------


def _fill(paper, n, users):
    roots = []
    for i in range(n):
        parent = roots[i % len(roots)] if roots and i % 3 else None
        comment = comment_on(paper, users[i % len(users)], f"Comment {i} about $x_{i}$", parent)
        if parent is None:
            roots.append(comment)


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "member"])
def test_the_paper_page_takes_the_same_queries_with_3_or_300_comments(
    client, alice, bob, signed_in, django_assert_max_num_queries
):
    small, large = PaperFactory(), PaperFactory()
    users = [alice, bob, member("carol")]
    _fill(small, 3, users)
    _fill(large, 300, users)
    if signed_in:
        client.force_login(alice)
        client.get("/")  # the session and the cached unread count
    counts = {}
    for paper in (small, large):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = client.get(paper.get_absolute_url())
        counts[paper.pk] = len(queries)
        assert response.content.decode().count('<article class="comment') == (
            3 if paper is small else 300
        )
    assert counts[small.pk] == counts[large.pk] <= 8


def test_each_page_shows_its_own_comments_and_each_reader_their_own_votes(client, alice, bob):
    # The thread's query is compiled once per process (discussion.thread): the paper and
    # the reader must still change from one request to the next.
    first, second = PaperFactory(), PaperFactory()
    on_first = comment_on(first, alice, "On the first paper")
    on_second = comment_on(second, alice, "On the second paper")
    carol = member("carol")
    on_first.add_vote(bob)

    def vote_button(reader, paper, comment):
        client.force_login(reader)
        html = client.get(paper.get_absolute_url()).content.decode()
        main = html[html.index(f'id="comment-main-{comment.pk}"') :]
        return re.search(r'aria-pressed="(\w+)" aria-label="([^"]+)"', main).groups()

    assert vote_button(bob, first, on_first) == (
        "true",
        "Remove your upvote of this comment by alice, 1 upvote",
    )
    assert vote_button(carol, first, on_first) == (
        "false",
        "Upvote of this comment by alice, 1 upvote",
    )
    assert vote_button(bob, second, on_second)[0] == "false"
    html = client.get(second.get_absolute_url()).content.decode()
    assert "On the second paper" in html and "On the first paper" not in html
    client.logout()
    html = client.get(first.get_absolute_url()).content.decode()
    assert "On the first paper" in html and 'aria-pressed="true"' not in html


def test_comment_times_are_written_as_strftime_and_isoformat_would(client, paper, alice):
    comment = comment_on(paper, alice, "When?")
    moment = dt.datetime(2026, 3, 7, 9, 5, 4, 999, tzinfo=dt.UTC)
    Comment.objects.filter(pk=comment.pk).update(created_at=moment, edited_at=moment)
    html = client.get(paper.get_absolute_url()).content.decode()
    assert '<time datetime="2026-03-07T09:05:04+00:00" title="7 March 2026, 09:05 UTC">' in html
    assert 'title="Edited 7 March 2026, 09:05 UTC"' in html


def test_replies_past_the_nesting_limit_are_placed_in_the_flat_column(client, paper, alice, bob):
    chain = [comment_on(paper, alice, "level 0")]
    for depth in range(1, MAX_DEPTH + 2):
        chain.append(comment_on(paper, bob if depth % 2 else alice, f"level {depth}", chain[-1]))
    client.force_login(member("carol"))
    at_limit, past_it = chain[MAX_DEPTH], chain[MAX_DEPTH + 1]
    html = client.post(post_url(paper), {"body": "a", "parent": at_limit.pk}, **HTMX).content
    assert f'hx-swap-oob="beforeend:#replies-{at_limit.pk}"' in html.decode()
    assert f'class="comment level-{MAX_DEPTH + 1}"' in html.decode()
    html = client.post(post_url(paper), {"body": "b", "parent": past_it.pk}, **HTMX).content
    assert f'hx-swap-oob="afterend:#comment-{past_it.pk}"' in html.decode()
    assert f'replying to <a href="#comment-{past_it.pk}">' in html.decode()

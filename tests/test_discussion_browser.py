"""The discussion in a real Chromium: posting and replying in place with htmx, math
rendered by KaTeX with links kept inert, editing and deleting in place, and the same
without JavaScript."""

import pytest
from playwright.sync_api import expect

from discussion.models import Comment

from .accounts_helpers import sign_in_browser
from .discussion_helpers import comment_on, member
from .factories import PaperFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def paper():
    return PaperFactory(arxiv_id="2411.00003", authors=["Ada Lovelace"])


def _signed_in(page, live_server, user):
    sign_in_browser(page.context, user, live_server)
    return page


def test_posting_and_replying_happen_in_place(page, live_server, paper):
    alice = member("alice")
    bob = member("bob")
    first = comment_on(paper, bob, "Is the *bound* tight?")
    _signed_in(page, live_server, alice)
    page.goto(paper.get_absolute_url())
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    # A new comment: the form clears, the comment appears at the top, the count grows.
    page.fill("#comment-body-new", "It is, see $\\alpha_1 + \\beta_2$ in Lemma 3.")
    page.get_by_role("button", name="Post comment").click()
    new = Comment.objects.filter(author=alice).order_by("-pk")
    expect(page.locator("#comment-list > article").first).to_contain_text("in Lemma 3")
    expect(page.locator("#comment-count")).to_have_text("2")
    expect(page.locator("#comment-body-new")).to_have_value("")
    assert new.count() == 1
    # KaTeX rendered the swapped-in math.
    expect(page.locator(f"#comment-{new[0].pk} .katex")).to_have_count(1)

    # A reply: the form opens under the comment, and the reply lands under it.
    page.locator(f"#comment-main-{first.pk}").get_by_role("link", name="Reply").click()
    reply_box = page.locator(f"#comment-body-{first.pk}")
    expect(reply_box).to_be_visible()
    reply_box.fill("@bob yes, for $n > 2$.")
    page.locator(f"#comment-form-{first.pk}").get_by_role("button", name="Reply").click()
    expect(page.locator(f"#replies-{first.pk} > article")).to_have_count(1)
    expect(page.locator(f"#replies-{first.pk}")).to_contain_text("yes, for")
    expect(page.locator(f"#comment-form-{first.pk}")).to_have_count(0)
    expect(page.locator(f"#replies-{first.pk} a.mention")).to_have_attribute("href", "/u/bob/")
    expect(page.locator("#comment-count")).to_have_text("3")
    assert page.evaluate("window.__sameDocument") is True

    # Refused in place: an empty reply gets its error where the form is.
    reply = Comment.objects.get(parent=first)
    page.locator(f"#comment-main-{reply.pk}").get_by_role("link", name="Edit").click()
    edit_box = page.locator(f"#comment-edit-{reply.pk}")
    edit_box.fill("@bob yes, for every $n > 2$.")
    page.locator(f"#comment-main-{reply.pk}").get_by_role("button", name="Save").click()
    expect(page.locator(f"#comment-main-{reply.pk} .comment-edited")).to_be_visible()
    expect(page.locator(f"#comment-main-{reply.pk}")).to_contain_text("for every")

    # Deleting leaves a tombstone in place.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#comment-main-{reply.pk}").get_by_role("button", name="Delete").click()
    expect(page.locator(f"#comment-main-{reply.pk}")).to_contain_text("Comment deleted")
    assert page.evaluate("window.__sameDocument") is True


def test_a_refusal_is_shown_in_place(page, live_server, paper, settings):
    settings.COMMENT_MAX_LENGTH = 20
    alice = member("alice")
    _signed_in(page, live_server, alice)
    page.goto(paper.get_absolute_url())
    # The browser's maxlength would stop the typing; a script or an old page would not.
    page.evaluate("document.querySelector('#comment-body-new').removeAttribute('maxlength')")
    page.fill("#comment-body-new", "x" * 30)
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator("#comment-form-new")).to_contain_text("Keep comments under 20")
    assert not Comment.objects.exists()


def test_katex_keeps_href_inert(page, live_server, paper):
    comment_on(paper, member("mallory"), "Click $\\href{javascript:alert(1)}{here}$ now")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(paper.get_absolute_url())
    body = page.locator(".comment-body").first
    expect(body.locator(".katex")).to_have_count(1)
    assert body.locator("a").count() == 0  # trust is off: \href draws no link
    body.locator(".katex").click(force=True)
    assert dialogs == []


@pytest.mark.parametrize("javascript", [False])
def test_posting_and_replying_work_without_javascript(browser, live_server, paper, javascript):
    alice, bob = member("alice"), member("bob")
    first = comment_on(paper, bob, "First")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=javascript)
    page = context.new_page()
    sign_in_browser(context, alice, live_server)
    page.goto(paper.get_absolute_url())
    page.fill("#comment-body-new", "**Preview** me")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".comment-preview strong")).to_have_text("Preview")
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_url(f"**{paper.get_absolute_url()}#comment-*")
    mine = Comment.objects.get(author=alice)
    assert page.url.endswith(f"#comment-{mine.pk}")
    page.locator(f"#comment-main-{first.pk}").get_by_role("link", name="Reply").click()
    page.fill(f"#comment-body-{first.pk}", "A reply without scripts")
    page.get_by_role("button", name="Reply").click()
    expect(page.locator(f"#replies-{first.pk}")).to_contain_text("A reply without scripts")
    context.close()

"""Layout and keyboard details in a real Chromium: a refused vote's message, focus after
a vote, the voters list, narrow phones, the account menu."""

import re

import pytest
from playwright.sync_api import expect

from .accounts_helpers import verified
from .factories import PaperFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, client, user, live_server):
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


@pytest.fixture
def member(db):
    return verified(UserFactory(username="mia", display_name="Mia Member"))


def test_a_too_fast_vote_s_message_leaves_the_card_in_shape(
    page, client, live_server, member, settings
):
    settings.VOTE_RATE_LIMIT = "1/m"
    first, second = PaperFactory(), PaperFactory()
    sign_in(page, client, member, live_server)
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto("/new/")
    card = page.locator(f"#paper-{second.pk}")
    before = card.bounding_box()
    page.locator(f"#paper-{first.pk}").get_by_role("button", name=re.compile("^Upvote")).click()
    expect(page.locator(f"#paper-{first.pk} .vote-count")).to_have_text("1")
    card.get_by_role("button", name=re.compile("^Upvote")).click()
    expect(card.get_by_role("alert")).to_contain_text("too fast")
    after = card.bounding_box()
    assert after["width"] == before["width"] and after["height"] == before["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    title = card.locator(".card-title").bounding_box()
    assert title["width"] > 150  # the title column did not collapse


def test_after_a_vote_focus_stays_on_the_button(page, client, live_server, member):
    paper = PaperFactory()
    sign_in(page, client, member, live_server)
    page.goto("/new/")
    button = page.locator(f"#vote-{paper.pk}")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.activeElement.id") == f"vote-{paper.pk}"
    page.keyboard.press("Enter")  # and the keyboard can take it back at once
    expect(button).to_have_attribute("aria-pressed", "false")


def test_on_the_paper_page_the_voters_list_follows_the_vote(page, client, live_server, member):
    paper = PaperFactory()
    sign_in(page, client, member, live_server)
    page.goto(paper.get_absolute_url())
    voters = page.locator("#paper-voters")
    expect(voters).to_contain_text("No upvotes yet")
    page.get_by_role("button", name=re.compile("^Upvote")).click()
    expect(voters.get_by_role("link", name="Mia Member")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Remove your upvote")).click()
    expect(voters).to_contain_text("No upvotes yet")

"""A reader's whole journey in real Chromium against the live server, with the real
services behind it: an SMTP server in-process (aiosmtpd), a Celery worker process that
fetches the submitted paper from a local server answering with arXiv's recorded
response, and sends the digest. Also the daily list by keyboard alone, and voting with
JavaScript off."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from digests.models import DigestSubscription
from digests.tasks import plan_digests
from papers.models import Paper, Vote

from .accounts_helpers import join_and_sign_in_again, sign_in_browser, verified
from .digest_helpers import body, site_path
from .factories import PaperFactory, UserFactory
from .recorded_http import RecordedServer
from .test_digests_worker import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAPER_1707 = "arxiv-api/2026/id_1707.08567_s0_m100_6a1afebfc6a3.xml"
UPVOTE = re.compile("^Upvote")
REMOVE = re.compile("^Remove your upvote")


@pytest.fixture
def arxiv_api(settings, monkeypatch):
    """arXiv's API, answered locally from a recorded response, for this process and
    for a worker started after it (request it before `celery_worker`)."""
    with RecordedServer() as server:
        server.add("/api/query", file=PAPER_1707, when={"id_list": "1707.08567"})
        url = f"{server.url}/api/query"
        settings.ARXIV_API_URL = url
        settings.ARXIV_REQUEST_INTERVAL = 0
        monkeypatch.setenv("ARXIV_API_URL", url)
        monkeypatch.setenv("ARXIV_REQUEST_INTERVAL", "0")
        yield server


@pytest.mark.worker
def test_a_reader_signs_up_votes_submits_gets_the_digest_and_unsubscribes(
    page, live_server, smtp_server, arxiv_api, celery_worker
):
    today = PaperFactory(title="Sparse Attention Is All You Need Today")
    # Last week's papers: what the weekly issue due now is made of (the weekly issue
    # is due every day of the week, the daily one only on weekdays).
    last_week = timezone.localdate() - dt.timedelta(days=7)
    for i in range(3):
        PaperFactory(title=f"Last Week's Paper {i}", daily_date=last_week, upvote_count=10 - i)

    # Sign up; the verification mail arrives; its link confirms; sign out and in.
    join_and_sign_in_again(page, smtp_server, "journey@example.org", "journey")

    # Upvote from the daily list: the count changes in place, no reload. Then undo.
    page.goto("/")
    page.evaluate("window.__notReloaded = true")
    card = page.locator(f"#paper-{today.pk}")
    card.get_by_role("button", name=UPVOTE).click()
    expect(card.get_by_role("button", name=REMOVE)).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".vote-count")).to_have_text("1")
    card.get_by_role("button", name=REMOVE).click()
    expect(card.get_by_role("button", name=UPVOTE)).to_have_attribute("aria-pressed", "false")
    expect(card.locator(".vote-count")).to_have_text("0")
    assert page.evaluate("window.__notReloaded") is True
    assert not Vote.objects.exists()

    # Submit a paper: the worker fetches it (from the local arXiv) and it is featured.
    page.get_by_role("link", name="Submit", exact=True).click()
    page.get_by_label("arXiv id or link").fill("1707.08567")
    page.get_by_role("button", name="Submit").click()
    status = page.locator("#submission-status")
    status.get_by_text("Added to today's list").wait_for(timeout=30_000)
    assert arxiv_api.requests_to("/api/query"), "the fetch did not reach the local arXiv"
    submitted = Paper.objects.get(arxiv_id="1707.08567")
    assert submitted.submitted_by.username == "journey"
    assert submitted.daily_date == timezone.localdate()

    # Subscribe to the weekly digest, sent from 00:00 UTC: due at once.
    page.goto("/settings/digest/")
    page.get_by_label("Email me the digest").check()
    page.get_by_label(re.compile("Weekly")).check()
    page.get_by_label("Send at").select_option(label="00:00")
    page.get_by_label("Time zone").select_option("UTC")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your digest settings are saved.").wait_for()
    subscription = DigestSubscription.objects.get(user__username="journey")
    assert subscription.is_receiving

    # The planner runs on the worker, which mails the digest.
    sent_before = len(smtp_server.messages)
    plan_digests.delay()
    wait_for(
        lambda: len(smtp_server.messages) > sent_before,
        message="the digest",
        worker=celery_worker,
    )
    digest = smtp_server.messages[-1]
    assert digest["To"] == "journey@example.org"
    assert "Last Week's Paper 0" in body(digest, "plain")

    # One-click unsubscribe (RFC 8058): the mail client POSTs to the header's URL,
    # with no session and no CSRF token.
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click = site_path(re.search(r"<(https?://[^>]+)>", digest["List-Unsubscribe"])[1])
    mail_client = page.context.browser.new_context(base_url=live_server.url)
    response = mail_client.request.post(
        one_click,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200 and "You're unsubscribed" in response.text()
    mail_client.close()
    subscription.refresh_from_db()
    assert not subscription.is_receiving

    # The reader sees it in their settings.
    page.goto("/settings/digest/")
    expect(page.locator(".digest-panel")).to_contain_text("Off")


def settled(page):
    """Wait until htmx has swapped and processed the new content: a key pressed before
    that would submit the fresh form natively (no person types that fast)."""
    # A locator, not wait_for_function: the site's CSP forbids the eval that a string
    # predicate needs.
    expect(
        page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    ).to_have_count(0)


@pytest.fixture
def member(db):
    return verified(UserFactory(username="keys", email="keys@example.org"))


def test_the_daily_list_can_be_voted_on_with_the_keyboard_alone(page, live_server, member):
    papers = [PaperFactory(title=f"Keyboard Paper {i}", upvote_count=5 - i) for i in range(3)]
    sign_in_browser(page.context, member, live_server)
    page.goto("/")

    # Tab from the top of the page to the first vote button.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('vote-button')"):
            break
    else:
        raise AssertionError("Tab never reached a vote button")
    button = page.locator(":focus")
    expect(button).to_have_id(f"vote-{papers[0].pk}")
    assert page.evaluate("document.activeElement.matches(':focus-visible')")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"

    # Enter votes; the button is swapped, and the focus stays on it.
    page.keyboard.press("Enter")
    settled(page)
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page.locator(":focus")).to_have_id(f"vote-{papers[0].pk}")
    expect(page.locator(":focus .vote-count")).to_have_text("6")
    # Space withdraws it.
    page.keyboard.press(" ")
    settled(page)
    expect(page.locator(":focus")).to_have_attribute("aria-pressed", "false")
    expect(page.locator(":focus .vote-count")).to_have_text("5")

    # Tab goes on to the next card, not back to the top.
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('vote-button')"):
            break
    expect(page.locator(":focus")).to_have_id(f"vote-{papers[1].pk}")
    page.keyboard.press("Enter")
    settled(page)
    expect(page.locator(":focus")).to_have_attribute("aria-pressed", "true")
    assert [p.upvote_count for p in Paper.objects.order_by("-title")] == [3, 5, 5]


def test_without_javascript_a_vote_posts_and_comes_back_to_the_card(browser, live_server, member):
    papers = [PaperFactory(title=f"Plain Form Paper {i}", upvote_count=40 - i) for i in range(25)]
    last = papers[-1]
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 1280, "height": 700}
    )
    sign_in_browser(context, member, live_server)
    tab = context.new_page()
    tab.goto("/")
    card = tab.locator(f"#paper-{last.pk}")

    with tab.expect_navigation():
        card.get_by_role("button", name=UPVOTE).click()

    # A full page load of the list, at the card that was voted on.
    assert tab.url == f"{live_server.url}/#paper-{last.pk}"
    expect(card.get_by_role("button", name=REMOVE)).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".vote-count")).to_have_text("17")
    expect(card).to_be_in_viewport()
    assert tab.evaluate("window.scrollY") > 0
    assert Vote.objects.filter(user=member, paper=last).exists()

    with tab.expect_navigation():
        card.get_by_role("button", name=REMOVE).click()
    expect(card.locator(".vote-count")).to_have_text("16")
    assert not Vote.objects.exists()
    context.close()
